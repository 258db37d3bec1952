//! The app's window as the X server (Xvfb) sees it, for what WebDriver cannot do: close it the way
//! a window manager's close button does, and tell whether it is shown.
//!
//! A close button makes the window manager send the window a `WM_DELETE_WINDOW` client message;
//! there is no window manager under Xvfb, so [`close`] sends that same message itself (through
//! libX11 from a few lines of Python's `ctypes`, which `scripts/e2e-desktop.sh` already needs).
//! Finding the window and its state uses `xwininfo` (x11-utils).

use anyhow::{Context, Result, bail, ensure};
use std::process::Command;

/// The id of the top-level window whose title starts with `title` (the app's is "Jeco Chat", or
/// "Jeco Chat (N)" with unread messages).
pub fn window_id(title: &str) -> Result<String> {
    let out = Command::new("xwininfo")
        .args(["-root", "-tree"])
        .output()
        .context("running xwininfo (x11-utils)")?;
    ensure!(out.status.success(), "xwininfo -root -tree failed");
    let tree = String::from_utf8_lossy(&out.stdout);
    let wanted = format!("\"{title}");
    for line in tree.lines().map(str::trim_start) {
        // `0x1e00003 "Jeco Chat": ("jeco-desktop" "Jeco-desktop")  1024x720+0+0  +0+0`
        let Some((id, rest)) = line.split_once(' ') else {
            continue;
        };
        if id.starts_with("0x") && rest.starts_with(&wanted) && rest.contains("\": (") {
            return Ok(id.to_owned());
        }
    }
    bail!("no window titled {title:?} in:\n{tree}")
}

/// Whether the window is shown (mapped and viewable), from `xwininfo -id`.
pub fn is_viewable(id: &str) -> Result<bool> {
    let out = Command::new("xwininfo")
        .args(["-id", id])
        .output()
        .context("running xwininfo")?;
    ensure!(out.status.success(), "xwininfo -id {id} failed");
    let info = String::from_utf8_lossy(&out.stdout);
    let state = info
        .lines()
        .find_map(|l| l.trim().strip_prefix("Map State:"))
        .with_context(|| format!("no map state in {info}"))?;
    Ok(state.trim() == "IsViewable")
}

/// Asks the window to close as a window manager's close button does (`WM_DELETE_WINDOW`).
pub fn close(id: &str) -> Result<()> {
    let window = u64::from_str_radix(id.trim_start_matches("0x"), 16)
        .with_context(|| format!("{id} is not a window id"))?;
    let status = Command::new("python3")
        .arg("-c")
        .arg(SEND_DELETE)
        .arg(window.to_string())
        .status()
        .context("running python3")?;
    ensure!(status.success(), "sending WM_DELETE_WINDOW to {id} failed");
    Ok(())
}

const SEND_DELETE: &str = r#"
import ctypes, sys
x = ctypes.cdll.LoadLibrary("libX11.so.6")
x.XOpenDisplay.restype = ctypes.c_void_p
x.XOpenDisplay.argtypes = [ctypes.c_char_p]
x.XInternAtom.restype = ctypes.c_ulong
x.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
class ClientMessage(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("serial", ctypes.c_ulong), ("send_event", ctypes.c_int),
                ("display", ctypes.c_void_p), ("window", ctypes.c_ulong),
                ("message_type", ctypes.c_ulong), ("format", ctypes.c_int),
                ("data", ctypes.c_long * 5)]
class Event(ctypes.Union):
    _fields_ = [("xclient", ClientMessage), ("pad", ctypes.c_long * 24)]
x.XSendEvent.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int, ctypes.c_long,
                         ctypes.POINTER(Event)]
x.XFlush.argtypes = [ctypes.c_void_p]
display = x.XOpenDisplay(None)
if not display:
    sys.exit("cannot open the display")
window = int(sys.argv[1])
event = Event()
event.xclient.type = 33  # ClientMessage
event.xclient.window = window
event.xclient.message_type = x.XInternAtom(display, b"WM_PROTOCOLS", 0)
event.xclient.format = 32
event.xclient.data[0] = x.XInternAtom(display, b"WM_DELETE_WINDOW", 0)
event.xclient.data[1] = 0  # CurrentTime
if not x.XSendEvent(display, window, 0, 0, ctypes.byref(event)):
    sys.exit("XSendEvent failed")
x.XFlush(display)
"#;
