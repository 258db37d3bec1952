//! Recording from the default microphone with cpal.
//!
//! The device callback (cpal's audio thread) only mixes each buffer down to mono `f32` and hands
//! it over through a bounded channel with `try_send` — it never blocks and never allocates more
//! than that buffer. A thread of our own (`voice-capture`, which also owns the cpal stream, since
//! streams may not move between threads on every platform) does the rest: resampling to 48 kHz
//! when the device runs at another rate (rodio's converter), the level meter, the waveform peaks
//! and the Opus encoding, frame by frame. If that thread ever falls behind, whole buffers are
//! dropped (and counted in the log) rather than stalling the device.
//!
//! A recording ends when asked ([`Recording::stop`], [`Recording::cancel`]), at the length limit,
//! or when the device fails; in the last two cases a `recording_stopped` event tells the UI, and
//! what was recorded can still be sent.

use super::waveform::{FramePeaks, LevelMeter};
use super::{
    EventSink, FRAME_SAMPLES, MAX_DURATION_MS, SAMPLE_RATE, StopReason, VoiceError, VoiceEvent,
    VoiceNote, ogg_opus::OggOpusEncoder,
};
use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use cpal::{FromSample, Sample, SampleFormat, SizedSample};
use std::num::NonZero;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Device buffers the channel holds (typically 10 ms each: over a second of slack).
const CHANNEL_BUFFERS: usize = 128;
/// Level events at most this often (~20 a second).
const LEVEL_EVERY: Duration = Duration::from_millis(50);

const RUN: u8 = 0;
const STOP: u8 = 1;
const CANCEL: u8 = 2;

/// What the recording thread and its controller share.
#[derive(Default)]
struct Control {
    /// [`RUN`], [`STOP`] or [`CANCEL`].
    command: AtomicU8,
    /// A fatal device error, from cpal's error callback.
    failure: Mutex<Option<String>>,
}

impl Control {
    fn running(&self) -> bool {
        self.command.load(Ordering::Acquire) == RUN
            && self.failure.lock().map(|f| f.is_none()).unwrap_or(false)
    }
}

/// A recording in progress (or finished by itself and waiting to be sent or dropped).
pub struct Recording {
    control: Arc<Control>,
    thread: Option<JoinHandle<Result<VoiceNote, VoiceError>>>,
}

impl Recording {
    /// Opens the default input device and starts recording; returns once the device runs, or
    /// with a typed error when there is none or it cannot be opened.
    pub fn start(events: EventSink) -> Result<Self, VoiceError> {
        Self::start_with_limit(events, MAX_DURATION_MS)
    }

    /// [`Recording::start`] with another length limit (tests).
    pub fn start_with_limit(events: EventSink, max_ms: u32) -> Result<Self, VoiceError> {
        let control = Arc::new(Control::default());
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let shared = control.clone();
        let thread = std::thread::Builder::new()
            .name("voice-capture".into())
            .spawn(move || {
                let (tx, rx) = sync_channel(CHANNEL_BUFFERS);
                let (stream, rate) = match open_input(tx, shared.clone()) {
                    Ok(opened) => {
                        let _ = ready_tx.send(Ok(()));
                        opened
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return Err(VoiceError::NotRecording);
                    }
                };
                let result = process(&rx, rate, &shared, &events, max_ms);
                drop(stream);
                result
            })
            .map_err(|e| VoiceError::InputUnavailable(e.to_string()))?;
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(Self {
                control,
                thread: Some(thread),
            }),
            Ok(Err(e)) => {
                let _ = thread.join();
                Err(e)
            }
            Err(_) => Err(VoiceError::InputUnavailable(
                "the recording thread ended".into(),
            )),
        }
    }

    /// Ends the recording and returns the encoded note.
    pub fn stop(mut self) -> Result<VoiceNote, VoiceError> {
        self.control.command.store(STOP, Ordering::Release);
        self.join()
    }

    /// Ends the recording and throws it away.
    pub fn cancel(mut self) {
        self.control.command.store(CANCEL, Ordering::Release);
        let _ = self.join();
    }

    fn join(&mut self) -> Result<VoiceNote, VoiceError> {
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(VoiceError::Encode("the recording thread failed".into())),
            None => Err(VoiceError::NotRecording),
        }
    }
}

impl Drop for Recording {
    fn drop(&mut self) {
        // Never leave the microphone open behind a forgotten recording.
        self.control.command.store(CANCEL, Ordering::Release);
    }
}

/// Opens the default input device at the best configuration it offers.
fn open_input(
    tx: SyncSender<Vec<f32>>,
    control: Arc<Control>,
) -> Result<(cpal::Stream, u32), VoiceError> {
    let host = cpal::default_host();
    let device = host
        .default_input_device()
        .ok_or(VoiceError::NoInputDevice)?;
    let supported = choose_config(&device)?;
    let rate = supported.sample_rate();
    let channels = usize::from(supported.channels()).max(1);
    let config = supported.config();
    tracing::info!(device = %device, ?config, format = ?supported.sample_format(), "recording");
    let c = (device, config, channels, tx, control);
    let stream = match supported.sample_format() {
        SampleFormat::F32 => build::<f32>(c),
        SampleFormat::I16 => build::<i16>(c),
        SampleFormat::I32 => build::<i32>(c),
        SampleFormat::U16 => build::<u16>(c),
        SampleFormat::I8 => build::<i8>(c),
        SampleFormat::U8 => build::<u8>(c),
        SampleFormat::U32 => build::<u32>(c),
        SampleFormat::F64 => build::<f64>(c),
        SampleFormat::I64 => build::<i64>(c),
        SampleFormat::U64 => build::<u64>(c),
        other => {
            return Err(VoiceError::InputUnavailable(format!(
                "unsupported sample format {other:?}"
            )));
        }
    }
    .map_err(input_error)?;
    stream.play().map_err(input_error)?;
    Ok((stream, rate))
}

fn input_error(e: cpal::Error) -> VoiceError {
    match e.kind() {
        // No sound card, or a default device that is only a name: nothing to record from.
        cpal::ErrorKind::DeviceNotAvailable | cpal::ErrorKind::HostUnavailable => {
            VoiceError::NoInputDevice
        }
        _ => VoiceError::InputUnavailable(e.to_string()),
    }
}

fn supported_format(format: SampleFormat) -> bool {
    use SampleFormat::*;
    matches!(
        format,
        F32 | I16 | I32 | U16 | I8 | U8 | U32 | F64 | I64 | U64
    )
}

/// 48 kHz when the device can (no resampling), the fewest channels (no mixing), float or 16-bit
/// samples first; else the device's default configuration.
fn choose_config(device: &cpal::Device) -> Result<cpal::SupportedStreamConfig, VoiceError> {
    let ranges: Vec<_> = device
        .supported_input_configs()
        .map_err(input_error)?
        .filter(|r| supported_format(r.sample_format()))
        .collect();
    let rank = |f: SampleFormat| match f {
        SampleFormat::F32 => 0,
        SampleFormat::I16 => 1,
        _ => 2,
    };
    let native = ranges
        .iter()
        .filter(|r| r.min_sample_rate() <= SAMPLE_RATE && SAMPLE_RATE <= r.max_sample_rate())
        .min_by_key(|r| (r.channels(), rank(r.sample_format())));
    if let Some(range) = native {
        return Ok(range.with_sample_rate(SAMPLE_RATE));
    }
    match device.default_input_config() {
        Ok(config) if supported_format(config.sample_format()) => Ok(config),
        Ok(_) | Err(_) => ranges
            .into_iter()
            .min_by_key(|r| (r.channels(), rank(r.sample_format())))
            .map(|r| r.with_max_sample_rate())
            .ok_or_else(|| {
                VoiceError::InputUnavailable("the microphone offers no usable format".into())
            }),
    }
}

type BuildArgs = (
    cpal::Device,
    cpal::StreamConfig,
    usize,
    SyncSender<Vec<f32>>,
    Arc<Control>,
);

fn build<T>((device, config, channels, tx, control): BuildArgs) -> Result<cpal::Stream, cpal::Error>
where
    T: SizedSample,
    f32: FromSample<T>,
{
    device.build_input_stream::<T, _, _>(
        config,
        move |data: &[T], _| {
            let _ = tx.try_send(to_mono(data, channels));
        },
        move |error| match error.kind() {
            // Glitches, not failures: the recording goes on.
            cpal::ErrorKind::Xrun
            | cpal::ErrorKind::DeviceChanged
            | cpal::ErrorKind::RealtimeDenied => {
                tracing::debug!(%error, "microphone glitch");
            }
            _ => {
                tracing::warn!(%error, "microphone failed");
                if let Ok(mut failure) = control.failure.lock() {
                    failure.get_or_insert_with(|| error.to_string());
                }
            }
        },
        None,
    )
}

/// Interleaved samples of any format → mono `f32` (the mean of the channels).
pub fn to_mono<T>(data: &[T], channels: usize) -> Vec<f32>
where
    T: SizedSample,
    f32: FromSample<T>,
{
    let channels = channels.max(1);
    data.chunks_exact(channels)
        .map(|frame| frame.iter().map(|&s| f32::from_sample(s)).sum::<f32>() / channels as f32)
        .collect()
}

/// Device buffers as one stream of samples, ending when the recording is stopped, cancelled or
/// failed (or the device side hangs up).
struct Incoming<'a> {
    rx: &'a Receiver<Vec<f32>>,
    control: &'a Control,
    chunk: Vec<f32>,
    pos: usize,
}

impl Iterator for Incoming<'_> {
    type Item = f32;

    fn next(&mut self) -> Option<f32> {
        loop {
            if let Some(&s) = self.chunk.get(self.pos) {
                self.pos += 1;
                return Some(s);
            }
            if !self.control.running() {
                return None;
            }
            match self.rx.recv_timeout(Duration::from_millis(20)) {
                Ok(chunk) => {
                    self.chunk = chunk;
                    self.pos = 0;
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return None,
            }
        }
    }
}

/// The recording thread's work: device samples → 48 kHz mono → meter, peaks, Opus.
fn process(
    rx: &Receiver<Vec<f32>>,
    device_rate: u32,
    control: &Control,
    events: &EventSink,
    max_ms: u32,
) -> Result<VoiceNote, VoiceError> {
    let incoming = Incoming {
        rx,
        control,
        chunk: Vec::new(),
        pos: 0,
    };
    let mut samples: Box<dyn Iterator<Item = f32> + '_> = match NonZero::new(device_rate) {
        Some(from) if device_rate != SAMPLE_RATE => {
            Box::new(rodio::conversions::SampleRateConverter::new(
                incoming,
                from,
                NonZero::new(SAMPLE_RATE).expect("non-zero"),
                NonZero::new(1).expect("non-zero"),
            ))
        }
        _ => Box::new(incoming),
    };
    let max_samples = u64::from(max_ms) * u64::from(SAMPLE_RATE) / 1000;
    let mut encoder = OggOpusEncoder::new()?;
    let mut meter = LevelMeter::default();
    let mut peaks = FramePeaks::default();
    // The first level goes out with the first frame (the meter moves at once), then ≤ 20 a second.
    let mut last_level: Option<Instant> = None;
    let mut frame = Vec::with_capacity(FRAME_SAMPLES);
    let elapsed_ms = |n: u64| u32::try_from(n * 1000 / u64::from(SAMPLE_RATE)).unwrap_or(u32::MAX);
    let mut limit_reached = false;
    loop {
        let room = usize::try_from(max_samples - encoder.samples())
            .unwrap_or(usize::MAX)
            .min(FRAME_SAMPLES);
        frame.clear();
        frame.extend(samples.by_ref().take(room));
        if frame.is_empty() {
            break;
        }
        meter.add(&frame);
        peaks.add(&frame);
        encoder.push(&frame)?;
        if last_level.is_none_or(|at| at.elapsed() >= LEVEL_EVERY) {
            last_level = Some(Instant::now());
            let (peak, rms) = meter.take();
            events(VoiceEvent::Level {
                peak,
                rms,
                elapsed_ms: elapsed_ms(encoder.samples()),
            });
        }
        if encoder.samples() >= max_samples {
            limit_reached = true;
            break;
        }
    }
    drop(samples);
    if control.command.load(Ordering::Acquire) == CANCEL {
        return Err(VoiceError::NotRecording);
    }
    let failure = control.failure.lock().ok().and_then(|f| f.clone());
    let recorded = encoder.samples();
    if limit_reached {
        events(VoiceEvent::RecordingStopped {
            reason: StopReason::MaxLength,
            elapsed_ms: elapsed_ms(recorded),
            message: None,
        });
    } else if let Some(message) = failure {
        if recorded == 0 {
            return Err(VoiceError::InputUnavailable(message));
        }
        events(VoiceEvent::RecordingStopped {
            reason: StopReason::DeviceError,
            elapsed_ms: elapsed_ms(recorded),
            message: Some(message),
        });
    }
    let (ogg, samples) = encoder.finish()?;
    Ok(VoiceNote {
        ogg,
        duration_ms: elapsed_ms(samples),
        waveform: peaks.waveform(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sink() -> (EventSink, Arc<Mutex<Vec<VoiceEvent>>>) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let keep = seen.clone();
        (Arc::new(move |e| keep.lock().unwrap().push(e)), seen)
    }

    #[test]
    fn any_sample_format_and_channel_count_becomes_mono_f32() {
        assert_eq!(
            to_mono::<i16>(&[i16::MAX, 0, i16::MIN, i16::MIN], 2),
            vec![0.49998474, -1.0]
        );
        assert_eq!(to_mono::<u8>(&[128, 128, 128], 3), vec![0.0]);
        assert_eq!(to_mono::<f32>(&[0.25, 0.5], 1), vec![0.25, 0.5]);
        assert!(
            to_mono::<f32>(&[0.1], 2).is_empty(),
            "an incomplete frame is dropped"
        );
    }

    /// A 44.1 kHz device: the pipeline resamples to 48 kHz, stops at the limit and says so.
    #[test]
    fn other_rates_are_resampled_and_the_limit_stops_the_recording() {
        let (tx, rx) = sync_channel(1024);
        let rate = 44_100u32;
        for i in 0..20 {
            let chunk: Vec<f32> = (0..4410)
                .map(|n| {
                    let t = (i * 4410 + n) as f32 / rate as f32;
                    0.5 * (t * 300.0 * std::f32::consts::TAU).sin()
                })
                .collect();
            tx.send(chunk).unwrap();
        }
        drop(tx);
        let control = Control::default();
        let (events, seen) = sink();
        let note = process(&rx, rate, &control, &events, 1500).unwrap();
        assert_eq!(
            note.duration_ms, 1500,
            "2 s offered, cut at the 1.5 s limit"
        );
        let info = super::super::ogg_opus::probe(&note.ogg).unwrap();
        assert_eq!(info.samples, 72_000, "exactly 1.5 s at 48 kHz");
        assert!(!note.waveform.is_empty());
        let seen = seen.lock().unwrap();
        assert!(seen.iter().any(|e| matches!(
            e,
            VoiceEvent::RecordingStopped {
                reason: StopReason::MaxLength,
                elapsed_ms: 1500,
                ..
            }
        )));
    }

    #[test]
    fn cancel_and_an_empty_recording_give_no_note() {
        let (tx, rx) = sync_channel::<Vec<f32>>(4);
        tx.send(vec![0.1; 4800]).unwrap();
        let control = Control::default();
        control.command.store(CANCEL, Ordering::Release);
        let (events, _) = sink();
        assert!(process(&rx, SAMPLE_RATE, &control, &events, 10_000).is_err());
        let (tx, rx) = sync_channel::<Vec<f32>>(4);
        drop(tx);
        let control = Control::default();
        assert!(matches!(
            process(&rx, SAMPLE_RATE, &control, &events, 10_000),
            Err(VoiceError::Empty)
        ));
    }
}
