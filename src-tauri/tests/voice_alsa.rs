//! Voice notes through real ALSA devices, on machines without a sound card: the default capture
//! device is ALSA's `file` plugin reading a tone this test writes, playback goes to the `null`
//! device. Recording runs the app's real cpal path, then the note is decoded back and checked.
//!
//! ALSA finds its configuration through `$HOME/.asoundrc`, and `HOME` can only be set safely for
//! a whole process, so each scenario runs in a child process of this test binary whose `HOME` is
//! a temporary directory holding that configuration (the scenarios are the `#[ignore]`d tests in
//! `in_alsa_home`, which the child runs; the parent checks that exactly one ran and passed).
//! Note that both devices run much faster than real time: count samples, not seconds.

use jeco_desktop::voice::capture::Recording;
use jeco_desktop::voice::ogg_opus::{OggOpusDecoder, OggOpusEncoder, probe};
use jeco_desktop::voice::{EventSink, StopReason, VoiceError, VoiceEvent};
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const IN_CHILD: &str = "JECO_VOICE_TEST_CHILD";

/// Two seconds of 48 kHz stereo S16_LE: a 440 Hz tone switched on and off every quarter second,
/// so the recording's loudness (and its waveform) is anything but flat.
fn write_tone(path: &Path) {
    let mut raw = Vec::with_capacity(48_000 * 2 * 4);
    for i in 0..96_000u32 {
        let t = f64::from(i) / 48_000.0;
        let on = ((t * 4.0) as u32).is_multiple_of(2);
        let v = if on {
            (12_000.0 * (t * 440.0 * std::f64::consts::TAU).sin()) as i16
        } else {
            0
        };
        raw.extend_from_slice(&v.to_le_bytes());
        raw.extend_from_slice(&v.to_le_bytes());
    }
    std::fs::write(path, raw).unwrap();
}

fn asoundrc(capture: &str) -> String {
    format!(
        "pcm.!default {{ type asym; playback.pcm \"nullout\"; capture.pcm \"{capture}\" }}\n\
         pcm.nullout {{ type null }}\n\
         ctl.!default {{ type hw card 0 }}\n"
    )
}

/// Runs the scenario `name` (in `in_alsa_home`) in a child process with `HOME` = a fresh
/// directory holding `config` as `.asoundrc` and the tone as `in.raw`.
fn run_in_alsa_home(name: &str, config: impl FnOnce(&Path) -> String) {
    let home = tempfile::tempdir().unwrap();
    let raw = home.path().join("in.raw");
    write_tone(&raw);
    std::fs::write(home.path().join(".asoundrc"), config(&raw)).unwrap();
    let test = format!("in_alsa_home::{name}");
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            &test,
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("HOME", home.path())
        .env(IN_CHILD, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "{test} failed in its ALSA home:\n{stdout}\n{stderr}"
    );
}

fn file_capture(raw: &Path) -> String {
    asoundrc("capfile")
        + &format!(
            "pcm.capraw {{ type file; slave.pcm \"null\"; file \"/dev/null\"; infile \"{}\"; format \"raw\" }}\n\
             pcm.capfile {{ type plug; slave {{ pcm \"capraw\"; format S16_LE; rate 48000; channels 2 }} }}\n",
            raw.display()
        )
}

#[test]
fn records_encodes_and_decodes_through_alsa() {
    run_in_alsa_home("record_to_the_limit_and_decode", file_capture);
}

#[test]
fn stopping_early_keeps_what_was_recorded() {
    run_in_alsa_home("stop_early", file_capture);
}

#[test]
fn a_missing_microphone_is_a_typed_error() {
    // A capture device that names a sound card this machine does not have.
    run_in_alsa_home("no_microphone", |_| {
        asoundrc("nomic") + "pcm.nomic { type hw; card 29 }\n"
    });
}

#[test]
fn plays_through_the_alsa_null_device() {
    run_in_alsa_home("play_to_the_end", file_capture);
}

/// The scenarios, run by the tests above in a child process (see the module doc).
mod in_alsa_home {
    use super::*;

    fn events() -> (EventSink, Arc<Mutex<Vec<VoiceEvent>>>) {
        assert!(
            std::env::var_os(IN_CHILD).is_some(),
            "run through the parent test, which sets up HOME"
        );
        let seen = Arc::new(Mutex::new(Vec::new()));
        let keep = seen.clone();
        (Arc::new(move |e| keep.lock().unwrap().push(e)), seen)
    }

    fn wait_for(seen: &Mutex<Vec<VoiceEvent>>, what: impl Fn(&VoiceEvent) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !seen.lock().unwrap().iter().any(&what) {
            assert!(
                Instant::now() < deadline,
                "timed out; events: {:?}",
                seen.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn decode_all(ogg: &[u8]) -> Vec<f32> {
        let mut decoder = OggOpusDecoder::new(ogg).unwrap();
        let mut out = Vec::new();
        while let Some(chunk) = decoder.next_chunk().unwrap() {
            out.extend(chunk);
        }
        out
    }

    #[test]
    #[ignore = "run by records_encodes_and_decodes_through_alsa in its own HOME"]
    fn record_to_the_limit_and_decode() {
        let (sink, seen) = events();
        let recording = Recording::start_with_limit(sink, 4_000).unwrap();
        wait_for(&seen, |e| {
            matches!(
                e,
                VoiceEvent::RecordingStopped {
                    reason: StopReason::MaxLength,
                    ..
                }
            )
        });
        let note = recording.stop().unwrap();
        assert_eq!(note.duration_ms, 4_000);
        assert_eq!(probe(&note.ogg).unwrap().samples, 192_000);
        let samples = decode_all(&note.ogg);
        assert_eq!(
            samples.len(),
            192_000,
            "decodes to exactly what was recorded"
        );
        let loudest = samples.iter().fold(0f32, |m, s| m.max(s.abs()));
        assert!(loudest > 0.1, "the tone came through: peak {loudest}");

        // The waveform: 200 frames → 200 bars, loud and silent ones.
        assert_eq!(note.waveform.len(), 200);
        assert_eq!(note.waveform.iter().max(), Some(&255));
        assert!(
            note.waveform.iter().filter(|&&p| p < 64).count() > 10,
            "quiet stretches show: {:?}",
            note.waveform
        );
        let levels: Vec<_> = seen
            .lock()
            .unwrap()
            .iter()
            .filter_map(|e| match e {
                VoiceEvent::Level { peak, .. } => Some(*peak),
                _ => None,
            })
            .collect();
        assert!(levels.iter().any(|&p| p > 0.1), "level events: {levels:?}");
    }

    #[test]
    #[ignore = "run by stopping_early_keeps_what_was_recorded in its own HOME"]
    fn stop_early() {
        let (sink, seen) = events();
        let recording = Recording::start(sink).unwrap();
        wait_for(&seen, |e| matches!(e, VoiceEvent::Level { .. }));
        let note = recording.stop().unwrap();
        assert!(note.duration_ms > 0);
        assert_eq!(probe(&note.ogg).unwrap().duration_ms(), note.duration_ms);
        assert!(!note.waveform.is_empty());
        // Cancelling gives nothing back and leaves the device free for the next recording.
        let (sink, _) = events();
        Recording::start(sink).unwrap().cancel();
        let (sink, seen) = events();
        let again = Recording::start(sink).unwrap();
        wait_for(&seen, |e| matches!(e, VoiceEvent::Level { .. }));
        assert!(again.stop().unwrap().duration_ms > 0);
    }

    #[test]
    #[ignore = "run by a_missing_microphone_is_a_typed_error in its own HOME"]
    fn no_microphone() {
        let (sink, _) = events();
        let error = Recording::start(sink)
            .err()
            .expect("no device to record from");
        assert!(matches!(error, VoiceError::NoInputDevice), "{error:?}");
        assert_eq!(error.code(), "no_microphone");
    }

    #[test]
    #[ignore = "run by plays_through_the_alsa_null_device in its own HOME"]
    fn play_to_the_end() {
        let mut encoder = OggOpusEncoder::new().unwrap();
        encoder.push(&vec![0.2; 96_000]).unwrap();
        let (ogg, _) = encoder.finish().unwrap();
        let (sink, seen) = events();
        let player = jeco_desktop::voice::playback::Player::default();
        let id = jeco_shared::AttachmentId(7);
        player.play(id, ogg.clone(), 0, sink.clone()).unwrap();
        let ended = |e: &VoiceEvent| {
            matches!(
                e,
                VoiceEvent::Playback {
                    playing: false,
                    position_ms: 2000,
                    duration_ms: 2000,
                    ..
                }
            )
        };
        wait_for(&seen, ended);
        assert!(seen.lock().unwrap().iter().any(|e| matches!(
            e,
            VoiceEvent::Playback { playing: true, attachment_id, .. } if *attachment_id == id
        )));
        // From the middle, then paused: the pause reports where it stopped.
        seen.lock().unwrap().clear();
        player.play(id, ogg, 1000, sink).unwrap();
        assert_eq!(player.pause(), Some(id));
        let last = seen.lock().unwrap().last().cloned();
        assert!(
            matches!(last, Some(VoiceEvent::Playback { playing: false, position_ms, .. }) if position_ms >= 1000),
            "{last:?}"
        );
    }
}
