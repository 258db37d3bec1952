//! How the web view draws: with or without GPU compositing.
//!
//! WebKitGTK composites the page with OpenGL. On a machine without a GPU render node
//! (`/dev/dri/renderD*`: virtual machines, remote desktops, Xvfb) that OpenGL is Mesa's software
//! rasterizer, and it is expensive for a chat window: measured here (`scripts/footprint.sh`, see
//! BENCHMARKS.md) the web process went from ~240 MiB to ~660 MiB within the first minute of
//! traffic, and the whole app started at 381 MiB instead of 255 MiB. Software painting without
//! compositing draws the same page for a fraction of that. So the default is: composite on a GPU,
//! paint in software without one. `JECO_DESKTOP_GPU=on|off` forces either.

/// The choice, from `JECO_DESKTOP_GPU`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum GpuChoice {
    /// Composite when the machine has a GPU render node (the default).
    #[default]
    Auto,
    On,
    Off,
}

impl GpuChoice {
    pub fn parse(value: &str) -> Result<Self, String> {
        match value.to_ascii_lowercase().as_str() {
            "auto" => Ok(Self::Auto),
            "on" | "1" | "true" => Ok(Self::On),
            "off" | "0" | "false" => Ok(Self::Off),
            other => Err(format!("{other:?} is not one of auto, on, off")),
        }
    }

    /// Whether the web view should composite with the GPU, given whether the machine has one.
    pub fn composite(self, has_gpu: bool) -> bool {
        match self {
            Self::Auto => has_gpu,
            Self::On => true,
            Self::Off => false,
        }
    }
}

/// Whether this machine has a GPU render node (Linux DRM).
pub fn has_render_node() -> bool {
    std::fs::read_dir("/dev/dri").is_ok_and(|entries| {
        entries
            .flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with("renderD"))
    })
}

/// Applies the choice to the main window's web view (Linux; elsewhere the platform web view
/// manages its own GPU use).
pub fn apply<R: tauri::Runtime>(window: &tauri::WebviewWindow<R>, choice: GpuChoice) {
    #[cfg(target_os = "linux")]
    {
        let composite = choice.composite(has_render_node());
        tracing::info!(composite, ?choice, "web view compositing");
        if composite {
            return;
        }
        let applied = window.with_webview(|webview| {
            use webkit2gtk::{HardwareAccelerationPolicy, SettingsExt, WebViewExt};
            if let Some(settings) = webview.inner().settings() {
                settings.set_hardware_acceleration_policy(HardwareAccelerationPolicy::Never);
            }
        });
        if let Err(e) = applied {
            tracing::warn!(error = %e, "cannot change the web view's compositing");
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (window, choice);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choice_parses_and_decides() {
        assert_eq!(GpuChoice::parse("auto"), Ok(GpuChoice::Auto));
        assert_eq!(GpuChoice::parse("OFF"), Ok(GpuChoice::Off));
        assert_eq!(GpuChoice::parse("on"), Ok(GpuChoice::On));
        assert!(GpuChoice::parse("maybe").is_err());
        assert!(GpuChoice::Auto.composite(true));
        assert!(!GpuChoice::Auto.composite(false));
        assert!(GpuChoice::On.composite(false));
        assert!(!GpuChoice::Off.composite(true));
    }
}
