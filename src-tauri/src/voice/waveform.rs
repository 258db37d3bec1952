//! Loudness: the live level meter while recording, and the waveform peaks a voice note carries.

use jeco_shared::media::WAVEFORM_PEAKS_MAX;

/// Peak and RMS of the samples seen since the last [`LevelMeter::take`].
#[derive(Debug, Default)]
pub struct LevelMeter {
    peak: f32,
    sum_squares: f64,
    count: u64,
}

impl LevelMeter {
    pub fn add(&mut self, samples: &[f32]) {
        for &s in samples {
            self.peak = self.peak.max(s.abs());
            self.sum_squares += f64::from(s) * f64::from(s);
        }
        self.count += samples.len() as u64;
    }

    /// `(peak, rms)`, each 0–1, and a fresh start.
    pub fn take(&mut self) -> (f32, f32) {
        let rms = if self.count == 0 {
            0.0
        } else {
            (self.sum_squares / self.count as f64).sqrt() as f32
        };
        let out = (self.peak.min(1.0), rms.min(1.0));
        *self = Self::default();
        out
    }
}

/// The loudest sample of every 20 ms frame of a recording, kept as it is recorded (a 5-minute
/// note is 15,000 numbers), then folded into the waveform.
#[derive(Debug, Default)]
pub struct FramePeaks {
    peaks: Vec<f32>,
    current: f32,
    in_frame: usize,
}

impl FramePeaks {
    pub fn add(&mut self, samples: &[f32]) {
        for &s in samples {
            self.current = self.current.max(s.abs());
            self.in_frame += 1;
            if self.in_frame == super::FRAME_SAMPLES {
                self.peaks.push(self.current);
                self.current = 0.0;
                self.in_frame = 0;
            }
        }
    }

    /// At most [`WAVEFORM_PEAKS_MAX`] bars (fewer for short notes: one per frame), each the loudest
    /// of its stretch, scaled so the loudest bar is 255 (a quiet note still shows its shape).
    pub fn waveform(mut self) -> Vec<u8> {
        if self.in_frame > 0 {
            self.peaks.push(self.current);
        }
        let n = self.peaks.len();
        if n == 0 {
            return Vec::new();
        }
        let bars = n.min(WAVEFORM_PEAKS_MAX);
        let folded: Vec<f32> = (0..bars)
            .map(|b| {
                let (start, end) = (b * n / bars, ((b + 1) * n / bars).max(b * n / bars + 1));
                self.peaks[start..end].iter().copied().fold(0.0, f32::max)
            })
            .collect();
        let loudest = folded.iter().copied().fold(0.0, f32::max);
        if loudest <= f32::EPSILON {
            return vec![0; bars];
        }
        folded
            .iter()
            .map(|p| ((p / loudest) * 255.0).round().clamp(0.0, 255.0) as u8)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meter_reports_peak_and_rms_then_resets() {
        let mut meter = LevelMeter::default();
        meter.add(&[0.5, -0.5, 0.5, -0.5]);
        let (peak, rms) = meter.take();
        assert!((peak - 0.5).abs() < 1e-6 && (rms - 0.5).abs() < 1e-6);
        assert_eq!(meter.take(), (0.0, 0.0));
    }

    #[test]
    fn waveform_follows_loudness_and_is_bounded() {
        let mut peaks = FramePeaks::default();
        // 10 s: loud, silent, half-loud thirds.
        let frame = super::super::FRAME_SAMPLES;
        for i in 0..500 {
            let level = match i * 3 / 500 {
                0 => 0.8,
                1 => 0.0,
                _ => 0.4,
            };
            peaks.add(&vec![level; frame]);
        }
        let wave = peaks.waveform();
        assert_eq!(wave.len(), WAVEFORM_PEAKS_MAX);
        assert_eq!(wave[0], 255);
        assert_eq!(wave[128], 0);
        assert_eq!(wave[250], 128);

        let mut short = FramePeaks::default();
        short.add(&vec![0.1; frame * 3 + 10]);
        assert_eq!(
            short.waveform(),
            vec![255; 4],
            "one bar per frame, a partial last one too"
        );
        assert!(FramePeaks::default().waveform().is_empty());
    }
}
