//! The interop gate: locating the collectd, rrdtool and rrdcached binaries, and deciding
//! whether a test that needs them runs, is skipped, or fails.

use std::env;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Environment variable that, set to `1`, lets interop tests skip when a
/// binary is missing. Ignored when `CI=true`.
pub const SKIP_ENV: &str = "COLLECTD_RS_SKIP_INTEROP";

/// Debian package that provides `/usr/sbin/collectd` and `types.db`.
pub const COLLECTD_PACKAGE: &str = "collectd-core";

/// Debian package that provides `/usr/bin/rrdtool`.
pub const RRDTOOL_PACKAGE: &str = "rrdtool";

/// Debian package that provides `/usr/bin/rrdcached`.
pub const RRDCACHED_PACKAGE: &str = "rrdcached";

/// Debian packages that provide `/usr/bin/chromium` and `/usr/bin/chromedriver`.
pub const BROWSER_PACKAGES: &str = "chromium chromium-driver";

/// collectd's `types.db` as installed by [`COLLECTD_PACKAGE`].
pub const TYPES_DB: &str = "/usr/share/collectd/types.db";

fn is_executable(path: &Path) -> bool {
    path.metadata().map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0).unwrap_or(false)
}

/// Looks for `name` in the `preferred` locations first, then on `PATH`.
pub(crate) fn find_program(name: &str, preferred: &[&str]) -> Option<PathBuf> {
    let preferred = preferred.iter().map(PathBuf::from);
    let on_path =
        env::var_os("PATH").map(|p| env::split_paths(&p).map(|d| d.join(name)).collect::<Vec<_>>()).unwrap_or_default();
    preferred.chain(on_path).find(|p| is_executable(p))
}

/// The collectd binary: `/usr/sbin/collectd`, else `collectd` on `PATH`.
///
/// Returns `None` when no binary is found or when collectd's `types.db`
/// ([`TYPES_DB`]) is missing (both come from the same Debian package).
pub fn find_collectd() -> Option<PathBuf> {
    if !Path::new(TYPES_DB).is_file() {
        return None;
    }
    find_program("collectd", &["/usr/sbin/collectd"])
}

/// The rrdtool binary: `/usr/bin/rrdtool`, else `rrdtool` on `PATH`.
pub fn find_rrdtool() -> Option<PathBuf> {
    find_program("rrdtool", &["/usr/bin/rrdtool"])
}

/// The rrdcached binary: `/usr/bin/rrdcached` (or `/usr/sbin/rrdcached`), else
/// `rrdcached` on `PATH`.
pub fn find_rrdcached() -> Option<PathBuf> {
    find_program("rrdcached", &["/usr/bin/rrdcached", "/usr/sbin/rrdcached"])
}

/// Headless Chromium and its WebDriver: `/usr/bin/chromium` and `/usr/bin/chromedriver`,
/// else on `PATH`; `None` unless both are found.
pub fn find_browser() -> Option<(PathBuf, PathBuf)> {
    Some((find_program("chromium", &["/usr/bin/chromium"])?, find_program("chromedriver", &["/usr/bin/chromedriver"])?))
}

/// The gate's decision, from the lookup result and the values of
/// `COLLECTD_RS_SKIP_INTEROP` and `CI`: `Ok(Some)` run, `Ok(None)` skip,
/// `Err(message)` fail.
fn decide(
    found: Option<PathBuf>,
    what: &str,
    package: &str,
    skip_var: Option<&str>,
    ci_var: Option<&str>,
) -> Result<Option<PathBuf>, String> {
    if found.is_some() {
        return Ok(found);
    }
    let skip = skip_var == Some("1");
    let ci = ci_var.is_some_and(|v| v.eq_ignore_ascii_case("true"));
    if skip && !ci {
        return Ok(None);
    }
    Err(format!(
        "{what} not found: install the Debian package `{package}` (make deps), \
         or set {SKIP_ENV}=1 to skip interop tests on this machine"
    ))
}

pub(crate) fn require(found: Option<PathBuf>, what: &str, package: &str) -> Option<PathBuf> {
    let skip_var = env::var(SKIP_ENV).ok();
    let ci_var = env::var("CI").ok();
    decide(found, what, package, skip_var.as_deref(), ci_var.as_deref()).unwrap_or_else(|message| panic!("{message}"))
}

/// Gate for tests that run collectd: returns the binary's path, or `None` if
/// the test should be skipped.
///
/// * collectd found (see [`find_collectd`]): `Some(path)`.
/// * Missing, `COLLECTD_RS_SKIP_INTEROP=1` and `CI` is not `true`: `None`;
///   the caller prints `skipped: ...` and returns.
/// * Missing otherwise (including on CI, whatever the skip variable says):
///   panics with "collectd binary not found: install the Debian package
///   `collectd-core` (make deps), or set COLLECTD_RS_SKIP_INTEROP=1 to skip
///   interop tests on this machine".
///
/// ```no_run
/// let Some(_collectd) = testkit::require_collectd() else {
///     eprintln!("skipped: collectd not installed");
///     return;
/// };
/// ```
///
/// # Panics
///
/// As described above, when collectd is missing and skipping is not allowed.
pub fn require_collectd() -> Option<PathBuf> {
    require(find_collectd(), "collectd binary", COLLECTD_PACKAGE)
}

/// Gate for tests that run rrdtool; same rules as [`require_collectd`], with
/// the Debian package `rrdtool`.
///
/// # Panics
///
/// When rrdtool is missing and skipping is not allowed.
pub fn require_rrdtool() -> Option<PathBuf> {
    require(find_rrdtool(), "rrdtool binary", RRDTOOL_PACKAGE)
}

/// Gate for tests that run rrdcached; same rules as [`require_collectd`],
/// with the Debian package `rrdcached`.
///
/// # Panics
///
/// When rrdcached is missing and skipping is not allowed.
pub fn require_rrdcached() -> Option<PathBuf> {
    require(find_rrdcached(), "rrdcached binary", RRDCACHED_PACKAGE)
}

/// Gate for browser tests: `(chromium, chromedriver)`; same rules as
/// [`require_collectd`], with the Debian packages [`BROWSER_PACKAGES`].
///
/// # Panics
///
/// When either is missing and skipping is not allowed.
pub fn require_browser() -> Option<(PathBuf, PathBuf)> {
    let found = find_browser();
    let chromium = require(found.as_ref().map(|(c, _)| c.clone()), "chromium or chromedriver", BROWSER_PACKAGES)?;
    Some((chromium, found.expect("require returns a path only when found").1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gate(found: bool, skip: Option<&str>, ci: Option<&str>) -> Result<Option<PathBuf>, String> {
        let found = found.then(|| PathBuf::from("/usr/sbin/collectd"));
        decide(found, "collectd binary", COLLECTD_PACKAGE, skip, ci)
    }

    #[test]
    fn found_binary_always_runs() {
        for ci in [None, Some("true")] {
            for skip in [None, Some("1")] {
                assert_eq!(gate(true, skip, ci), Ok(Some("/usr/sbin/collectd".into())));
            }
        }
    }

    #[test]
    fn missing_binary_skips_only_when_allowed_and_not_on_ci() {
        assert_eq!(gate(false, Some("1"), None), Ok(None));
        assert_eq!(gate(false, Some("1"), Some("false")), Ok(None));
        assert!(gate(false, Some("1"), Some("true")).is_err());
        assert!(gate(false, Some("0"), None).is_err());
        assert!(gate(false, None, None).is_err());
    }

    #[test]
    fn failure_message_names_the_package() {
        assert_eq!(
            gate(false, None, None).unwrap_err(),
            "collectd binary not found: install the Debian package `collectd-core` (make deps), \
             or set COLLECTD_RS_SKIP_INTEROP=1 to skip interop tests on this machine"
        );
    }
}
