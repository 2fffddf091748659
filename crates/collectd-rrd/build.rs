//! Builds `shim/png_encoding.rs`, the library the rrdtool pool preloads into its workers
//! for cheaper PNG encoding (see `src/rrdtool/png_shim.rs`).
//!
//! It is compiled with the same rustc as the crate, as a `no_std` cdylib. Where that is
//! not possible (not Linux, or the compile fails) an empty file stands in and the pool
//! runs rrdtool unchanged; the build says so in a warning.

use std::env;
use std::fs;
use std::path::PathBuf;
use std::process::Command;

const SOURCE: &str = "shim/png_encoding.rs";

fn main() {
    println!("cargo::rerun-if-changed={SOURCE}");
    println!("cargo::rerun-if-changed=build.rs");
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let library = out_dir.join("png_encoding.so");
    let target_os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let built = if target_os == "linux" { compile(&library) } else { Err(format!("target OS {target_os}")) };
    if let Err(why) = built {
        println!("cargo::warning=PNG encoding shim not built ({why}); rrdtool workers keep libpng's defaults");
        fs::write(&library, b"").expect("write an empty stand-in into OUT_DIR");
    }
}

fn compile(library: &PathBuf) -> Result<(), String> {
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let target = env::var("TARGET").map_err(|e| format!("TARGET: {e}"))?;
    let mut command = Command::new(&rustc);
    command
        .args(["--crate-type", "cdylib", "--crate-name", "collectd_view_png_encoding", "--edition", "2024"])
        .args(["-C", "opt-level=2", "-C", "panic=abort", "-C", "strip=debuginfo", "--target", &target])
        // dlsym and dlvsym (in libdl before glibc 2.34, in libc since), getenv.
        .args(["-l", "dylib=dl", "-l", "dylib=c"]);
    if env::var("CARGO_CFG_TARGET_ENV").as_deref() == Ok("musl") {
        // musl targets link statically by default, which a cdylib cannot.
        command.args(["-C", "target-feature=-crt-static"]);
    }
    if let Some(linker) = env::var_os("RUSTC_LINKER") {
        command.arg("-C").arg({
            let mut flag = std::ffi::OsString::from("linker=");
            flag.push(linker);
            flag
        });
    }
    let output = command
        .arg("-o")
        .arg(library)
        .arg(SOURCE)
        .output()
        .map_err(|e| format!("running {}: {e}", rustc.to_string_lossy()))?;
    if !output.status.success() {
        return Err(format!("rustc {}: {}", output.status, String::from_utf8_lossy(&output.stderr).trim()));
    }
    // rustc may drop a crate type the target cannot build, and still succeed.
    match fs::metadata(library) {
        Ok(meta) if meta.len() > 0 => Ok(()),
        _ => Err(format!("rustc wrote no library: {}", String::from_utf8_lossy(&output.stderr).trim())),
    }
}
