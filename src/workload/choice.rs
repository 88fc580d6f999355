//! Typed option values with their command-line names: the enums each workload file declares
//! with [`choice!`] (`Strategy`, `Transport`…), read back from an option's text.

/// A typed option value with its names: the enums of each workload file (see [`choice!`]).
pub trait Choice: Copy + Default + PartialEq + std::fmt::Debug + 'static {
    const NAMES: &'static [&'static str];
    fn parse(name: &str) -> Option<Self>;
    fn name(self) -> &'static str;
}

/// Defines a typed option enum with its command-line names; the first variant is the default.
macro_rules! choice {
    ($(#[$meta:meta])* $vis:vis enum $name:ident { $first_doc:literal $first:ident = $first_text:literal, $($doc:literal $variant:ident = $text:literal,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
        $vis enum $name {
            #[doc = $first_doc]
            #[default]
            $first,
            $(#[doc = $doc] $variant,)*
        }

        impl $crate::workload::choice::Choice for $name {
            const NAMES: &'static [&'static str] = &[$first_text, $($text),*];

            fn parse(name: &str) -> Option<Self> {
                match name {
                    $first_text => Some(Self::$first),
                    $($text => Some(Self::$variant),)*
                    _ => None,
                }
            }

            fn name(self) -> &'static str {
                match self {
                    Self::$first => $first_text,
                    $(Self::$variant => $text,)*
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str($crate::workload::choice::Choice::name(*self))
            }
        }
    };
}
pub(crate) use choice;
