//! Finding and loading ONNX Runtime (`libonnxruntime.so`) at run time.
//!
//! `ort` is built with `load-dynamic`: nothing is linked at build time, so the binary builds offline
//! and runs without the library (AI off, everything else on). `ort::init()` would panic when the
//! library is missing; `ort::init_from(path)` returns an error instead, which is what we use.
//!
//! Where the library is looked for, first match wins ([`find_runtime_in`]):
//! 1. `[ml] onnxruntime` from the config (used as given, even if missing, so the error names it);
//! 2. `$ORT_DYLIB_PATH` (the variable `ort` itself documents);
//! 3. `<data folder>/onnxruntime/` — where `scripts/fetch-onnxruntime.sh` puts it by default;
//! 4. `<folder of the cloudvault binary>/onnxruntime/`, then that folder itself (packaged installs);
//! 5. `/usr/local/lib`, `/usr/lib` (a system-wide install; must be >= 1.31).
//!
//! In each folder: `libonnxruntime.so`, then `libonnxruntime.so.1`, then the newest `libonnxruntime.so.1.*`.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use ort::environment::Environment;

use super::MlError;

static ENVIRONMENT: OnceLock<Environment> = OnceLock::new();
static INIT: Mutex<()> = Mutex::new(());

const HOW_TO_GET_IT: &str = "set [ml] onnxruntime = \"/path/to/libonnxruntime.so\" in the config (or ORT_DYLIB_PATH), or run scripts/fetch-onnxruntime.sh";

/// Loads ONNX Runtime from `lib` and creates the process-wide environment. Call once per process;
/// later calls return `Ok(())` without loading anything (the first library stays in use).
pub fn init_runtime(lib: &Path) -> Result<(), MlError> {
    let _guard = INIT.lock().unwrap_or_else(|e| e.into_inner());
    if ENVIRONMENT.get().is_some() {
        return Ok(());
    }
    if !lib.exists() {
        return Err(MlError::RuntimeMissing(format!(
            "ONNX Runtime library not found at {}: {HOW_TO_GET_IT}",
            lib.display()
        )));
    }
    let builder = ort::init_from(lib).map_err(|e| {
        MlError::RuntimeMissing(format!(
            "cannot load ONNX Runtime from {}: {e}. CloudVault needs ONNX Runtime 1.31 or newer: {HOW_TO_GET_IT}",
            lib.display()
        ))
    })?;
    let env = builder
        .with_name("cloudvault")
        .with_telemetry(false)
        .build()
        .map_err(|e| {
            MlError::RuntimeMissing(format!(
                "ONNX Runtime from {} failed to start: {e}",
                lib.display()
            ))
        })?;
    let _ = ENVIRONMENT.set(env);
    tracing::info!(library = %lib.display(), "ONNX Runtime loaded");
    Ok(())
}

/// Whether [`init_runtime`] has succeeded in this process.
pub fn runtime_ready() -> bool {
    ENVIRONMENT.get().is_some()
}

pub(crate) fn environment() -> Result<&'static Environment, MlError> {
    ENVIRONMENT.get().ok_or_else(|| {
        MlError::RuntimeMissing(format!(
            "ONNX Runtime is not loaded (no library found): {HOW_TO_GET_IT}"
        ))
    })
}

/// [`find_runtime_in`] with the default data folder `./data`.
pub fn find_runtime(configured: Option<&Path>) -> Option<PathBuf> {
    find_runtime_in(configured, Path::new("./data"))
}

/// The library to load: the configured path, else `$ORT_DYLIB_PATH`, else the first library found
/// in `<data_dir>/onnxruntime/`, next to the binary, `/usr/local/lib`, `/usr/lib` (module docs).
pub fn find_runtime_in(configured: Option<&Path>, data_dir: &Path) -> Option<PathBuf> {
    if let Some(p) = configured {
        return Some(p.to_path_buf());
    }
    if let Some(p) = std::env::var_os("ORT_DYLIB_PATH").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let mut dirs = vec![data_dir.join("onnxruntime")];
    if let Some(exe_dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
    {
        dirs.push(exe_dir.join("onnxruntime"));
        dirs.push(exe_dir);
    }
    dirs.push(PathBuf::from("/usr/local/lib"));
    dirs.push(PathBuf::from("/usr/lib"));
    dirs.iter().find_map(|d| library_in(d))
}

fn library_in(dir: &Path) -> Option<PathBuf> {
    for name in [
        "libonnxruntime.so",
        "libonnxruntime.so.1",
        "libonnxruntime.dylib",
    ] {
        let p = dir.join(name);
        if p.is_file() {
            return Some(p);
        }
    }
    // Versioned names only: pick the newest.
    let mut versioned: Vec<(Vec<u32>, PathBuf)> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let version = name.strip_prefix("libonnxruntime.so.")?;
            let parts: Vec<u32> = version
                .split('.')
                .map(|p| p.parse().ok())
                .collect::<Option<_>>()?;
            e.path().is_file().then(|| (parts, e.path()))
        })
        .collect();
    versioned.sort();
    versioned.pop().map(|(_, p)| p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configured_path_wins_and_folders_are_searched() {
        let dir = tempfile::tempdir().unwrap();
        let ort_dir = dir.path().join("onnxruntime");
        std::fs::create_dir_all(&ort_dir).unwrap();
        std::fs::write(ort_dir.join("libonnxruntime.so.1.9.0"), b"x").unwrap();
        std::fs::write(ort_dir.join("libonnxruntime.so.1.31.1"), b"x").unwrap();
        std::fs::write(ort_dir.join("libonnxruntime.so.1.31.1.tmp"), b"x").unwrap();
        assert_eq!(
            library_in(&ort_dir),
            Some(ort_dir.join("libonnxruntime.so.1.31.1"))
        );
        std::fs::write(ort_dir.join("libonnxruntime.so"), b"x").unwrap();
        assert_eq!(
            library_in(&ort_dir),
            Some(ort_dir.join("libonnxruntime.so"))
        );
        let configured = Path::new("/opt/ort/libonnxruntime.so");
        assert_eq!(
            find_runtime_in(Some(configured), dir.path()),
            Some(configured.to_path_buf())
        );
        if std::env::var_os("ORT_DYLIB_PATH").is_none() {
            assert_eq!(
                find_runtime_in(None, dir.path()),
                Some(ort_dir.join("libonnxruntime.so"))
            );
        }
    }
}
