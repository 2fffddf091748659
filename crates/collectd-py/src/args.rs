//! Python arguments of `record` and `set_exact` turned into the library's names and
//! values. Nothing here raises: what cannot be used is logged and left out, and the
//! rest of the call still counts.
//!
//! What counts as a value (the choices, as Python users expect them):
//! - `float`: as is; NaN and ±inf are refused by the library (logged).
//! - `int`, of any size: the nearest double (exact up to 2**53, as a gauge is a double);
//!   an int beyond the double range (about 1.8e308) is refused.
//! - `bool`: an `int` in Python, so `True` counts 1 and `False` 0.
//! - anything with `__float__` or `__index__` (`Decimal`, `Fraction`, numpy scalars):
//!   what `float(value)` gives.
//! - `str`, `bytes`, `None`, `complex` and the rest: refused (the original refused
//!   them too, with an assertion it logged).
//!
//! Specifics must be `str` (a subclass too); anything else is left out. Names with
//! lone surrogates are read with U+FFFD in their place, which sanitising turns into `_`.

use std::borrow::Cow;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyInt, PyString, PyTuple};
use smallvec::SmallVec;

/// Names and stats of one call held inline: no allocation for up to 4 of each (more
/// spill to the heap; 8 made every call copy twice as much).
pub(crate) type Inline<T> = SmallVec<[T; 4]>;

/// What a `repr` says, for a log message; never fails.
fn describe(value: &Bound<'_, PyAny>) -> String {
    let type_name = value.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "?".into());
    let repr = value.repr().map(|r| r.to_string_lossy().into_owned()).unwrap_or_else(|_| "<no repr>".into());
    let mut repr: String = repr.chars().take(80).collect();
    if repr.len() >= 80 {
        repr.push('…');
    }
    format!("{repr} ({type_name})")
}

/// The specifics of a `record` call, held so their names can be borrowed.
pub(crate) struct Specifics<'py> {
    items: Inline<Bound<'py, PyString>>,
}

impl<'py> Specifics<'py> {
    /// Reads `*specific`: each a `str`, or logged and left out.
    pub(crate) fn read(method: &str, args: &Bound<'py, PyTuple>) -> Self {
        let mut items = Inline::new();
        for item in args.iter() {
            match item.cast_into::<PyString>() {
                Ok(name) => items.push(name),
                Err(error) => {
                    let item = error.into_inner();
                    log::warn!(target: "collectd", "{method}(): specific {} is not a string; left out", describe(&item));
                }
            }
        }
        Specifics { items }
    }

    /// The names as the library takes them, borrowed: `None` when one is not valid UTF-8
    /// (a lone surrogate), for [`Specifics::names`] to replace.
    #[cfg(not(feature = "abi3"))]
    pub(crate) fn borrowed(&self) -> Option<Inline<&str>> {
        let mut names = Inline::new();
        for name in &self.items {
            names.push(name.to_str().ok()?);
        }
        Some(names)
    }

    /// 3.9's stable ABI cannot lend a str's UTF-8: always [`Specifics::names`].
    #[cfg(feature = "abi3")]
    pub(crate) fn borrowed(&self) -> Option<Inline<&str>> {
        None
    }

    /// The names as the library takes them.
    pub(crate) fn names(&self) -> Inline<Cow<'_, str>> {
        self.items.iter().map(|name| name.to_string_lossy()).collect()
    }
}

/// The keyword arguments of a call, held so their names can be borrowed.
pub(crate) struct Stats<'py> {
    items: Inline<(Bound<'py, PyString>, f64)>,
}

impl<'py> Stats<'py> {
    /// Reads `**stats`: each value as a double, or logged and left out.
    pub(crate) fn read(method: &str, stats: Option<&Bound<'py, PyDict>>) -> Self {
        let Some(stats) = stats else { return Stats { items: Inline::new() } };
        let mut items = Inline::new();
        for (name, value) in stats.iter() {
            // Keyword names are always strings in CPython; a dict built by hand is checked.
            let Ok(name) = name.cast_into::<PyString>() else { continue };
            // An int (not a bool) within 64 bits: converted directly, as float(int) rounds
            // it; the general path asks the object for a new float.
            if value.is_exact_instance_of::<PyInt>()
                && let Ok(int) = value.extract::<i64>()
            {
                items.push((name, int as f64));
                continue;
            }
            match value.extract::<f64>() {
                Ok(number) => items.push((name, number)),
                Err(error) => {
                    let why = if error.is_instance_of::<pyo3::exceptions::PyOverflowError>(value.py()) {
                        "is too large for a double"
                    } else {
                        "is not a number"
                    };
                    log::warn!(
                        target: "collectd",
                        "{method}(): stat {:?}: value {} {why}; left out",
                        name.to_string_lossy(),
                        describe(&value)
                    );
                }
            }
        }
        Stats { items }
    }

    /// The stats as the library takes them, borrowed: `None` when a name is not valid
    /// UTF-8 (a lone surrogate), for [`Stats::pairs`] to replace.
    #[cfg(not(feature = "abi3"))]
    pub(crate) fn borrowed(&self) -> Option<Inline<(&str, f64)>> {
        let mut pairs = Inline::new();
        for (name, value) in &self.items {
            pairs.push((name.to_str().ok()?, *value));
        }
        Some(pairs)
    }

    /// 3.9's stable ABI cannot lend a str's UTF-8: always [`Stats::pairs`].
    #[cfg(feature = "abi3")]
    pub(crate) fn borrowed(&self) -> Option<Inline<(&str, f64)>> {
        None
    }

    /// The stats as the library takes them.
    pub(crate) fn pairs(&self) -> Inline<(Cow<'_, str>, f64)> {
        self.items.iter().map(|(name, value)| (name.to_string_lossy(), *value)).collect()
    }
}
