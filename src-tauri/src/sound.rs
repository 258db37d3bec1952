//! Alert sounds through rodio: a short two-note chime for a message, a brighter three-note one for
//! a mention, synthesized from sine waves (no audio files to ship, decode or lose).
//!
//! Sounds play on one thread of their own ("jeco-sound"), one after another: audio output handles
//! are not `Send` on every platform, and a queue keeps two alerts from opening the device twice
//! at once. The device is opened for each sound and closed after it, so an idle app holds no audio
//! device (and a headset plugged in later is used for the next sound). Failures — no output device
//! at all is the common one — are logged and, for the Settings "Test sound" button, returned as a
//! [`SoundError`] the UI shows; they never stop the app.

use rodio::Source;
use serde::{Deserialize, Serialize};
use std::sync::mpsc;
use std::time::Duration;

/// Which alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum Sound {
    Message,
    Mention,
}

/// Why a sound did not play.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SoundError {
    /// No output device could be opened.
    #[error("no audio output device could be opened: {0}")]
    NoDevice(String),
    /// The sound thread is gone (the app is shutting down).
    #[error("the sound player has stopped")]
    Stopped,
}

/// Notes of a chime: (frequency in Hz, length in ms).
fn notes(sound: Sound) -> &'static [(f32, u64)] {
    match sound {
        // E6 → A6: a soft "ding-dong" upward.
        Sound::Message => &[(1318.5, 90), (1760.0, 140)],
        // C6 → E6 → G6, quicker and brighter: someone wants *you*.
        Sound::Mention => &[(1046.5, 70), (1318.5, 70), (1568.0, 160)],
    }
}

/// How long a sound lasts (for tests and for callers that wait).
pub fn duration(sound: Sound) -> Duration {
    Duration::from_millis(notes(sound).iter().map(|(_, ms)| ms).sum())
}

/// Plays `sound` at `gain` (0.0–1.0) on the default output device and returns when it has played.
/// Blocking: call it from the sound thread (or a test).
pub fn play_blocking(sound: Sound, gain: f32) -> Result<(), SoundError> {
    let mut sink = rodio::DeviceSinkBuilder::open_default_sink()
        .map_err(|e| SoundError::NoDevice(error_chain(&e)))?;
    // Opening and closing per sound is the design, not a leak worth a log line each time.
    sink.log_on_drop(false);
    let player = rodio::Player::connect_new(sink.mixer());
    player.set_volume(gain.clamp(0.0, 1.0));
    for &(freq, ms) in notes(sound) {
        let d = Duration::from_millis(ms);
        // Short fades at both ends: no clicks between notes.
        player.append(
            rodio::source::SineWave::new(freq)
                .take_duration(d)
                .fade_in(Duration::from_millis(5))
                .fade_out(d.saturating_sub(Duration::from_millis(10)))
                .amplify(0.5),
        );
    }
    player.sleep_until_end();
    Ok(())
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

struct Job {
    sound: Sound,
    gain: f32,
    done: Option<tokio::sync::oneshot::Sender<Result<(), SoundError>>>,
}

/// The sound thread's queue.
pub struct SoundPlayer {
    jobs: mpsc::SyncSender<Job>,
}

/// Sounds waiting beyond this many are dropped: alerts from a minute ago are noise.
const QUEUE: usize = 4;

impl SoundPlayer {
    pub fn start() -> Self {
        let (jobs, queue) = mpsc::sync_channel::<Job>(QUEUE);
        let spawned = std::thread::Builder::new()
            .name("jeco-sound".into())
            .spawn(move || {
                for job in queue {
                    let result = play_blocking(job.sound, job.gain);
                    if let Err(e) = &result {
                        tracing::warn!(sound = ?job.sound, error = %e, "cannot play an alert sound");
                    }
                    if let Some(done) = job.done {
                        let _ = done.send(result);
                    }
                }
            });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "cannot start the sound thread; alerts will be silent");
        }
        Self { jobs }
    }

    /// Queues an alert sound; never waits (a full queue drops it, with a log line).
    pub fn play(&self, sound: Sound, gain: f32) {
        let job = Job {
            sound,
            gain,
            done: None,
        };
        if let Err(e) = self.jobs.try_send(job) {
            tracing::debug!(error = %e, "alert sound dropped");
        }
    }

    /// Plays a sound and waits for the outcome (Settings → "Test sound").
    pub async fn play_and_wait(&self, sound: Sound, gain: f32) -> Result<(), SoundError> {
        let (done, outcome) = tokio::sync::oneshot::channel();
        let job = Job {
            sound,
            gain,
            done: Some(done),
        };
        self.jobs.try_send(job).map_err(|e| match e {
            mpsc::TrySendError::Full(_) => {
                SoundError::NoDevice("the sound queue is full; try again".into())
            }
            mpsc::TrySendError::Disconnected(_) => SoundError::Stopped,
        })?;
        outcome.await.unwrap_or(Err(SoundError::Stopped))
    }
}

#[cfg(test)]
mod tests {
    //! The real output path — rodio, cpal and ALSA — against ALSA devices that need no sound card.
    //! ALSA reads its configuration from `$HOME/.asoundrc`, and a process's environment must not
    //! change under running threads, so each case runs this test binary again as a child process
    //! with its own `HOME` (the `child_*` tests, which do nothing else).

    use super::*;
    use std::path::Path;
    use std::process::Command;

    const CHILD: &str = "JECO_SOUND_TEST_CHILD";

    /// Runs the `child_*` test `name` in a child process with `HOME=home`.
    fn run_child(name: &str, home: &Path) -> std::process::Output {
        let output = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                &format!("sound::tests::{name}"),
                "--include-ignored",
                "--test-threads=1",
                "--nocapture",
            ])
            .env("HOME", home)
            .env(CHILD, "1")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            stdout.contains("1 passed"),
            "the child test did not run: {stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }

    /// The `.asoundrc` of DESKTOP-TESTING.md, with playback going through a `file` tap (raw
    /// samples written to `tap`) into the null device, so the test sees what reached ALSA.
    fn null_device_home(tap: &Path) -> tempfile::TempDir {
        let home = tempfile::tempdir().unwrap();
        let config = format!(
            r#"pcm.!default {{ type asym; playback.pcm "tapout"; capture.pcm "capfile" }}
pcm.nullout {{ type null }}
pcm.tapout {{ type file; slave.pcm "nullout"; file "{tap}"; format "raw" }}
pcm.capraw {{ type file; slave.pcm "null"; file "/dev/null"; infile "/dev/zero"; format "raw" }}
pcm.capfile {{ type plug; slave {{ pcm "capraw"; format S16_LE; rate 48000; channels 2 }} }}
ctl.!default {{ type hw card 0 }}
"#,
            tap = tap.display()
        );
        std::fs::write(home.path().join(".asoundrc"), config).unwrap();
        home
    }

    #[test]
    fn plays_both_sounds_through_alsa() {
        let out = tempfile::tempdir().unwrap();
        let tap = out.path().join("played.raw");
        let home = null_device_home(&tap);
        let child = run_child("child_plays_both_sounds", home.path());
        assert!(
            child.status.success(),
            "{}",
            String::from_utf8_lossy(&child.stderr)
        );
        // Samples reached ALSA: about the length of both chimes, and not silence.
        let bytes = std::fs::read(&tap).expect("ALSA wrote the tap file");
        assert!(
            bytes.len() > 10_000,
            "only {} bytes reached the device",
            bytes.len()
        );
        assert!(bytes.iter().any(|&b| b != 0), "only silence was played");
    }

    #[test]
    fn a_missing_device_is_an_error_not_a_crash() {
        let home = tempfile::tempdir().unwrap();
        std::fs::write(
            home.path().join(".asoundrc"),
            "pcm.!default { type hw; card 63 }\nctl.!default { type hw; card 63 }\n",
        )
        .unwrap();
        let child = run_child("child_reports_no_device", home.path());
        assert!(
            child.status.success(),
            "{}",
            String::from_utf8_lossy(&child.stderr)
        );
    }

    #[test]
    #[ignore = "run by plays_both_sounds_through_alsa, in a child process with its own HOME"]
    fn child_plays_both_sounds() {
        assert!(
            std::env::var_os(CHILD).is_some(),
            "run by plays_both_sounds_through_alsa"
        );
        play_blocking(Sound::Message, 0.8).unwrap();
        // Through the player thread too, the way the app plays them.
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let player = SoundPlayer::start();
        rt.block_on(player.play_and_wait(Sound::Mention, 1.0))
            .unwrap();
    }

    #[test]
    #[ignore = "run by a_missing_device_is_an_error_not_a_crash, in a child process with its own HOME"]
    fn child_reports_no_device() {
        assert!(
            std::env::var_os(CHILD).is_some(),
            "run by a_missing_device_is_an_error_not_a_crash"
        );
        let err = play_blocking(Sound::Message, 0.5).unwrap_err();
        assert!(matches!(err, SoundError::NoDevice(_)), "{err:?}");
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let player = SoundPlayer::start();
        let err = rt
            .block_on(player.play_and_wait(Sound::Mention, 0.5))
            .unwrap_err();
        assert!(matches!(err, SoundError::NoDevice(_)), "{err:?}");
    }

    #[test]
    fn chimes_are_short_and_distinct() {
        assert_ne!(notes(Sound::Message), notes(Sound::Mention));
        for s in [Sound::Message, Sound::Mention] {
            assert!(duration(s) < Duration::from_millis(500), "{s:?}");
        }
    }
}
