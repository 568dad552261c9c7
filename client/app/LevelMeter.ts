// The microphone level on the pre-join screen: WebAudio's AnalyserNode over the track, drawn as a
// bar, so the person sees the right microphone picks them up before joining.

/** RMS of a block of samples (-1..1) as a 0..1 meter reading: -60 dBFS and below read 0. */
export function meterLevel(samples: Float32Array): number {
  let sum = 0;
  for (const s of samples) sum += s * s;
  const rms = Math.sqrt(sum / Math.max(samples.length, 1));
  if (rms <= 0) return 0;
  const db = 20 * Math.log10(rms);
  return Math.min(1, Math.max(0, (db + 60) / 60));
}

export class LevelMeter {
  readonly #ctx: AudioContext;
  readonly #analyser: AnalyserNode;
  readonly #source: MediaStreamAudioSourceNode;
  readonly #buf: Float32Array<ArrayBuffer>;
  readonly #bar: HTMLElement;
  readonly #resume = (): void => void this.#ctx.resume().catch(() => undefined);
  #raf = 0;
  #closed = false;
  /** The last reading (0..1), for the test hook. */
  level = 0;

  constructor(track: MediaStreamTrack, bar: HTMLElement) {
    this.#bar = bar;
    this.#ctx = new AudioContext();
    this.#analyser = this.#ctx.createAnalyser();
    this.#analyser.fftSize = 1024;
    this.#buf = new Float32Array(this.#analyser.fftSize);
    this.#source = this.#ctx.createMediaStreamSource(new MediaStream([track]));
    this.#source.connect(this.#analyser); // not to the destination: no echo of oneself
    // A context made before any click starts suspended in most browsers: the first click starts it.
    document.addEventListener('pointerdown', this.#resume);
    this.#resume();
    this.#tick();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    cancelAnimationFrame(this.#raf);
    document.removeEventListener('pointerdown', this.#resume);
    this.#source.disconnect();
    void this.#ctx.close().catch(() => undefined);
    this.#bar.style.transform = 'scaleX(0)';
  }

  #tick = (): void => {
    if (this.#closed) return;
    this.#analyser.getFloatTimeDomainData(this.#buf);
    // Falls slowly, rises at once: the bar reads as a meter, not as noise.
    this.level = Math.max(meterLevel(this.#buf), this.level * 0.85);
    this.#bar.style.transform = `scaleX(${this.level.toFixed(3)})`;
    this.#raf = requestAnimationFrame(this.#tick);
  };
}
