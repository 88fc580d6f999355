//! The statistics of a sweep, as pure functions of measured seconds: the spread of one point's
//! runs, speedup with its uncertainty, efficiency, Karp-Flatt, outliers and the fit of Amdahl's
//! law. No I/O, no clock, no engine: unit tests feed them fixed numbers.

/// Runs whose modified z-score is beyond this are outliers. hyperfine's threshold: lenient on
/// purpose, so that only a run that is clearly off (another program woke up) is flagged.
pub(crate) const OUTLIER_Z: f64 = 14.0;

/// The spread of one point's runs, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub(crate) struct Summary {
    pub mean: f64,
    /// Sample standard deviation (n − 1); 0 for a single run.
    pub stddev: f64,
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Summary {
    /// None without any value.
    #[must_use]
    pub(crate) fn of(values: &[f64]) -> Option<Self> {
        if values.is_empty() {
            return None;
        }
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let stddev = if values.len() > 1 {
            (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
        } else {
            0.0
        };
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        Some(Self { mean, stddev, median: median_of_sorted(&sorted), min: sorted[0], max: sorted[sorted.len() - 1] })
    }
}

fn median_of_sorted(sorted: &[f64]) -> f64 {
    let mid = sorted.len() / 2;
    if sorted.len().is_multiple_of(2) {
        f64::midpoint(sorted[mid - 1], sorted[mid])
    } else {
        sorted[mid]
    }
}

/// A ratio with its standard uncertainty.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub(crate) struct Ratio {
    pub value: f64,
    pub uncertainty: f64,
}

/// How many times faster `this` is than `reference` (mean over mean), with the uncertainty
/// propagated from both relative errors, as hyperfine's relative speed: u/S = √((σa/a)² + (σb/b)²).
#[must_use]
pub(crate) fn ratio(reference: &Summary, this: &Summary) -> Option<Ratio> {
    if reference.mean <= 0.0 || this.mean <= 0.0 {
        return None;
    }
    let value = reference.mean / this.mean;
    let relative = ((reference.stddev / reference.mean).powi(2) + (this.stddev / this.mean).powi(2)).sqrt();
    Some(Ratio { value, uncertainty: value * relative })
}

/// Speedup per worker, as a fraction (1.0 = perfect scaling).
#[must_use]
pub(crate) fn efficiency(speedup: f64, workers: usize) -> f64 {
    speedup / workers.max(1) as f64
}

/// The Karp-Flatt metric, the serial fraction measured at one point: (1/S − 1/p) / (1 − 1/p).
/// None for one worker, where it is undefined.
#[must_use]
pub(crate) fn karp_flatt(speedup: f64, workers: usize) -> Option<f64> {
    if workers < 2 || speedup <= 0.0 {
        return None;
    }
    let p = workers as f64;
    Some((1.0 / speedup - 1.0 / p) / (1.0 - 1.0 / p))
}

/// The least-squares fit of Amdahl's law S(p) = 1 / (s + (1 − s)/p) to a model's points.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub(crate) struct AmdahlFit {
    /// The serial fraction, clamped to 0..=1.
    pub serial_fraction: f64,
    /// Root mean square of the speedups' distance to the fitted curve.
    pub rms_error: f64,
}

impl AmdahlFit {
    /// The speedup the fit predicts for `workers`.
    #[must_use]
    pub(crate) fn speedup(&self, workers: f64) -> f64 {
        1.0 / (self.serial_fraction + (1.0 - self.serial_fraction) / workers.max(1.0))
    }

    /// The speedup no number of workers can exceed under this fit; None when s is 0.
    #[must_use]
    pub(crate) fn limit(&self) -> Option<f64> {
        (self.serial_fraction > 0.0).then(|| 1.0 / self.serial_fraction)
    }
}

/// Fits Amdahl's law to `(workers, speedup)` points. Time, not speedup, is linear in s:
/// 1/S − 1/p = s · (1 − 1/p), so s is the least-squares slope through the origin in those
/// coordinates. None without a point of two workers or more.
#[must_use]
pub(crate) fn fit_amdahl(points: &[(usize, f64)]) -> Option<AmdahlFit> {
    let (mut xy, mut xx) = (0.0, 0.0);
    for &(workers, speedup) in points {
        if workers < 2 || speedup <= 0.0 {
            continue;
        }
        let p = workers as f64;
        let x = 1.0 - 1.0 / p;
        xy += x * (1.0 / speedup - 1.0 / p);
        xx += x * x;
    }
    if xx == 0.0 {
        return None;
    }
    let mut fit = AmdahlFit { serial_fraction: (xy / xx).clamp(0.0, 1.0), rms_error: 0.0 };
    let residuals: Vec<f64> =
        points.iter().filter(|(_, s)| *s > 0.0).map(|&(p, s)| (s - fit.speedup(p as f64)).powi(2)).collect();
    fit.rms_error = (residuals.iter().sum::<f64>() / residuals.len() as f64).sqrt();
    Some(fit)
}

/// The spread under which runs count as equal, relative to their median: below it, two runs
/// that happen to agree closely would make every third one look far off.
const MIN_RELATIVE_MAD: f64 = 0.01;

/// The indices of outlying values by the modified z-score (0.6745 · (x − median) / MAD), the
/// MAD taken as at least [`MIN_RELATIVE_MAD`] of the median.
#[must_use]
pub(crate) fn outliers(values: &[f64]) -> Vec<usize> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    if sorted.len() < 3 {
        return Vec::new();
    }
    let median = median_of_sorted(&sorted);
    let mut deviations: Vec<f64> = values.iter().map(|v| (v - median).abs()).collect();
    deviations.sort_by(f64::total_cmp);
    let mad = median_of_sorted(&deviations).max(MIN_RELATIVE_MAD * median.abs());
    if mad <= 0.0 {
        return Vec::new();
    }
    values
        .iter()
        .enumerate()
        .filter(|(_, v)| (0.6745 * (*v - median) / mad).abs() > OUTLIER_Z)
        .map(|(index, _)| index)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn a_summary_has_the_sample_spread() {
        let summary = Summary::of(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]).expect("values");
        assert!(close(summary.mean, 5.0));
        // Sample variance: 32 / 7.
        assert!(close(summary.stddev, (32.0f64 / 7.0).sqrt()), "{summary:?}");
        assert!(close(summary.median, 4.5));
        assert!(close(summary.min, 2.0) && close(summary.max, 9.0));
        let odd = Summary::of(&[3.0, 1.0, 2.0]).expect("values");
        assert!(close(odd.median, 2.0) && close(odd.stddev, 1.0));
        let one = Summary::of(&[0.5]).expect("one value");
        assert!(close(one.stddev, 0.0) && close(one.median, 0.5));
        assert_eq!(Summary::of(&[]), None);
    }

    #[test]
    fn speedup_carries_both_relative_errors() {
        let sequential = Summary::of(&[1.9, 2.0, 2.1]).expect("values");
        let parallel = Summary::of(&[0.95, 1.0, 1.05]).expect("values");
        let speedup = ratio(&sequential, &parallel).expect("ratio");
        assert!(close(speedup.value, 2.0));
        // σ/μ is 0.05 on both sides: u = 2 · √(2 · 0.05²).
        assert!(close(speedup.uncertainty, 2.0 * (2.0f64 * 0.0025).sqrt()), "{speedup:?}");
        let zero = Summary { mean: 0.0, stddev: 0.0, median: 0.0, min: 0.0, max: 0.0 };
        assert_eq!(ratio(&zero, &parallel), None);
        assert_eq!(ratio(&sequential, &zero), None);
    }

    #[test]
    fn karp_flatt_is_the_serial_fraction_seen_at_one_point() {
        assert_eq!(karp_flatt(1.0, 1), None);
        assert!(close(karp_flatt(2.0, 2).expect("p=2"), 0.0), "perfect scaling: no serial part");
        assert!(close(karp_flatt(1.0, 4).expect("p=4"), 1.0), "no speedup: all serial");
        // Amdahl with s = 0.1 at p = 4 gives S = 1/0.325; Karp-Flatt gives s back.
        assert!(close(karp_flatt(1.0 / 0.325, 4).expect("p=4"), 0.1));
    }

    #[test]
    fn amdahl_fit_finds_the_serial_fraction_of_exact_points() {
        let law = |s: f64, p: f64| 1.0 / (s + (1.0 - s) / p);
        let points: Vec<(usize, f64)> = [1, 2, 4, 8].iter().map(|&p| (p, law(0.2, p as f64))).collect();
        let fit = fit_amdahl(&points).expect("fit");
        assert!(close(fit.serial_fraction, 0.2), "{fit:?}");
        assert!(fit.rms_error < 1e-9);
        assert!(close(fit.limit().expect("limit"), 5.0));
        assert!(close(fit.speedup(4.0), law(0.2, 4.0)));
        // Perfect scaling fits s = 0; no speedup at all fits s = 1.
        assert!(close(fit_amdahl(&[(2, 2.0), (4, 4.0)]).expect("fit").serial_fraction, 0.0));
        assert_eq!(fit_amdahl(&[(2, 2.0)]).expect("fit").limit(), None);
        assert!(close(fit_amdahl(&[(2, 1.0), (4, 1.0)]).expect("fit").serial_fraction, 1.0));
        // Superlinear speedup would need s < 0: clamped, with the miss in the error.
        let superlinear = fit_amdahl(&[(2, 3.0)]).expect("fit");
        assert!(close(superlinear.serial_fraction, 0.0) && close(superlinear.rms_error, 1.0));
        assert_eq!(fit_amdahl(&[(1, 1.0)]), None, "one worker says nothing about s");
    }

    #[test]
    fn only_a_clearly_distant_run_is_an_outlier() {
        assert_eq!(outliers(&[1.0, 1.01, 0.99, 1.02, 0.98, 3.0]), vec![5]);
        assert!(outliers(&[1.0, 1.1, 0.9, 1.05, 0.95]).is_empty());
        assert_eq!(outliers(&[1.0, 1.0, 1.0, 5.0]), vec![3], "no spread but one run far off");
        assert!(outliers(&[1.6527, 1.6533, 1.715]).is_empty(), "two runs agreeing closely make no outlier");
        assert!(outliers(&[0.0, 0.0, 0.0]).is_empty());
        assert!(outliers(&[1.0, 9.0]).is_empty(), "too few runs");
    }
}
