//! Playing a voice note through rodio, one at a time, with progress events.
//!
//! The note is decoded as it plays ([`OpusSource`]: one Opus packet at a time, so an hour-long
//! note costs no more memory than a short one). The output device is opened only while a note
//! plays and closed when it pauses or ends: an idle app holds no audio device. Progress goes to
//! the UI about ten times a second, and once more, `playing: false`, when it pauses or ends.

use super::ogg_opus::{OggOpusDecoder, probe};
use super::{EventSink, SAMPLE_RATE, VoiceError, VoiceEvent};
use jeco_shared::AttachmentId;
use std::num::NonZero;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

const PROGRESS_EVERY: Duration = Duration::from_millis(100);

/// A note decoded while rodio pulls samples from it.
pub struct OpusSource {
    decoder: OggOpusDecoder<Vec<u8>>,
    chunk: Vec<f32>,
    pos: usize,
    duration: Duration,
}

impl OpusSource {
    /// Starts `from_samples` into the note.
    pub fn new(ogg: Vec<u8>, from_samples: u64) -> Result<Self, VoiceError> {
        let mut decoder = OggOpusDecoder::new(ogg)?;
        let info = decoder.info();
        let mut skip = from_samples.min(info.samples);
        let mut chunk = Vec::new();
        let mut pos = 0;
        while skip > 0 {
            let Some(next) = decoder.next_chunk()? else {
                break;
            };
            let n = usize::try_from(skip).unwrap_or(usize::MAX).min(next.len());
            skip -= n as u64;
            if n < next.len() {
                chunk = next;
                pos = n;
            }
        }
        Ok(Self {
            decoder,
            chunk,
            pos,
            duration: Duration::from_millis(u64::from(info.duration_ms())),
        })
    }
}

impl Iterator for OpusSource {
    type Item = f32;

    fn next(&mut self) -> Option<f32> {
        loop {
            if let Some(&s) = self.chunk.get(self.pos) {
                self.pos += 1;
                return Some(s);
            }
            match self.decoder.next_chunk() {
                Ok(Some(chunk)) => {
                    self.chunk = chunk;
                    self.pos = 0;
                }
                Ok(None) => return None,
                Err(error) => {
                    tracing::warn!(%error, "voice note playback stopped");
                    return None;
                }
            }
        }
    }
}

impl rodio::Source for OpusSource {
    fn current_span_len(&self) -> Option<usize> {
        None
    }
    fn channels(&self) -> rodio::ChannelCount {
        NonZero::new(1).expect("non-zero")
    }
    fn sample_rate(&self) -> rodio::SampleRate {
        NonZero::new(SAMPLE_RATE).expect("non-zero")
    }
    fn total_duration(&self) -> Option<Duration> {
        Some(self.duration)
    }
}

struct Active {
    attachment_id: AttachmentId,
    stop: Arc<AtomicBool>,
    thread: JoinHandle<()>,
}

/// The one voice note playing, if any.
#[derive(Default)]
pub struct Player {
    current: Mutex<Option<Active>>,
}

impl Player {
    /// Plays a note from `from_ms` (stopping any other); returns once the output device is open.
    pub fn play(
        &self,
        attachment_id: AttachmentId,
        ogg: Vec<u8>,
        from_ms: u32,
        events: EventSink,
    ) -> Result<(), VoiceError> {
        self.pause();
        let info = probe(&ogg)?;
        let duration_ms = info.duration_ms();
        let from_ms = if from_ms >= duration_ms { 0 } else { from_ms };
        let source = OpusSource::new(ogg, u64::from(from_ms) * u64::from(SAMPLE_RATE) / 1000)?;
        let stop = Arc::new(AtomicBool::new(false));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("voice-playback".into())
            .spawn(move || {
                // The device sink holds a cpal stream, which stays on the thread that opened it.
                let mut sink = match rodio::DeviceSinkBuilder::open_default_sink() {
                    Ok(sink) => sink,
                    Err(e) => {
                        let _ = ready_tx.send(Err(VoiceError::OutputUnavailable(e.to_string())));
                        return;
                    }
                };
                sink.log_on_drop(false);
                let player = rodio::Player::connect_new(sink.mixer());
                player.append(source);
                let _ = ready_tx.send(Ok(()));
                let position = |player: &rodio::Player| {
                    let played = u32::try_from(player.get_pos().as_millis()).unwrap_or(u32::MAX);
                    from_ms.saturating_add(played).min(duration_ms)
                };
                let progress = |position_ms, playing| VoiceEvent::Playback {
                    attachment_id,
                    position_ms,
                    duration_ms,
                    playing,
                };
                events(progress(from_ms, true));
                loop {
                    std::thread::sleep(PROGRESS_EVERY);
                    if flag.load(Ordering::Acquire) {
                        events(progress(position(&player), false));
                        break;
                    }
                    if player.empty() {
                        events(progress(duration_ms, false));
                        break;
                    }
                    events(progress(position(&player), true));
                }
                player.stop();
            })
            .map_err(|e| VoiceError::OutputUnavailable(e.to_string()))?;
        match ready_rx.recv() {
            Ok(Ok(())) => {
                *self.current.lock().unwrap_or_else(|p| p.into_inner()) = Some(Active {
                    attachment_id,
                    stop,
                    thread,
                });
                Ok(())
            }
            Ok(Err(e)) => {
                let _ = thread.join();
                Err(e)
            }
            Err(_) => Err(VoiceError::OutputUnavailable(
                "the playback thread ended".into(),
            )),
        }
    }

    /// Pauses (stops) whatever plays; its last `playback` event has the position to resume from.
    pub fn pause(&self) -> Option<AttachmentId> {
        let active = self
            .current
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()?;
        active.stop.store(true, Ordering::Release);
        let _ = active.thread.join();
        Some(active.attachment_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::voice::ogg_opus::OggOpusEncoder;

    #[test]
    fn source_starts_where_asked_and_knows_its_length() {
        let mut encoder = OggOpusEncoder::new().unwrap();
        encoder.push(&vec![0.25; 48_000]).unwrap();
        let (ogg, _) = encoder.finish().unwrap();
        let whole = OpusSource::new(ogg.clone(), 0).unwrap();
        assert_eq!(
            rodio::Source::total_duration(&whole),
            Some(Duration::from_secs(1))
        );
        assert_eq!(whole.count(), 48_000);
        assert_eq!(
            OpusSource::new(ogg.clone(), 12_345).unwrap().count(),
            35_655
        );
        assert_eq!(OpusSource::new(ogg, 100_000).unwrap().count(), 0);
    }
}
