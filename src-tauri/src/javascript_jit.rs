//! JavaScriptCore's optimizing JIT tiers off in the web view (Linux).
//!
//! WebKitGTK runs the page's JavaScript in JavaScriptCore, which moves hot functions up through
//! its tiers: the LLInt interpreter, the baseline JIT, then the optimizing DFG and FTL compilers.
//! The optimizing tiers pay off for long, heavy scripts. A chat window's script is light and
//! mostly waits; under traffic the DFG and FTL compiler threads and the code they produce were
//! most of what the web process grew by (BENCHMARKS.md "Inside the web process's native memory").
//! Without them the process tree was ~20 MiB smaller after start and 20–40 MiB smaller after
//! five minutes of heavy traffic, and the launch was no slower (BENCHMARKS.md "JavaScriptCore's
//! JIT tiers"). The baseline JIT stays: the interpreter alone saved more memory but made the
//! slowest launches slower.
//!
//! JavaScriptCore reads its options from `JSC_<option>` environment variables when it starts, and
//! WebKitGTK's web process inherits the app's environment, so [`apply`] puts
//! `JSC_useDFGJIT=false` (the FTL depends on the DFG and goes with it) into the app's own
//! environment before GTK or WebKit start. A variable that is already set is left alone: whoever
//! sets it decides (`JSC_useDFGJIT=true` restores JavaScriptCore's default).
//!
//! The variable is the app's from then on, so programs the app starts inherit it too (the system
//! browser or file viewer when a link or file is opened, if it was not running yet).
//!
//! `std::env::set_var` is `unsafe` (edition 2024) and the workspace forbids unsafe code. GLib's
//! `g_setenv`, which `glib::setenv` calls, is the same libc `setenv` and is sound under the same
//! condition: no other thread reads or writes the environment meanwhile. [`apply`] is the first
//! thing `run` does, on the main thread, before any other thread exists.

/// The variables set when absent, and their values.
pub const DEFAULTS: &[(&str, &str)] = &[("JSC_useDFGJIT", "false")];

/// Which of [`DEFAULTS`] to set, given which variables the environment has already (`is_set`):
/// only those it does not have.
pub fn to_set(is_set: impl Fn(&str) -> bool) -> Vec<(&'static str, &'static str)> {
    DEFAULTS
        .iter()
        .copied()
        .filter(|(name, _)| !is_set(name))
        .collect()
}

/// Sets [`DEFAULTS`] that are not set yet (Linux). Call first thing in the app, before any
/// other thread starts.
pub fn apply() {
    #[cfg(target_os = "linux")]
    for (name, value) in to_set(|name| std::env::var_os(name).is_some()) {
        // Before any thread exists: see the module's documentation.
        if let Err(e) = gtk::glib::setenv(name, value, false) {
            eprintln!("jeco-desktop: cannot set {name}: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_the_defaults_when_absent() {
        assert_eq!(to_set(|_| false), vec![("JSC_useDFGJIT", "false")]);
    }

    #[test]
    fn keeps_a_value_someone_set() {
        assert!(to_set(|name| name == "JSC_useDFGJIT").is_empty());
    }
}
