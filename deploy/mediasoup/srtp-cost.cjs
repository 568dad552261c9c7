// Worker CPU per forwarded packet, plain RTP against SRTP, for one or more worker binaries in
// one run (phases interleaved, medians): the before/after check of a worker build, e.g. Debian's
// libsrtp2 (NSS) against ours (OpenSSL). One PlainTransport producer fed a VP8-like stream from
// a Node socket, CONSUMERS plain consumers each on its own PlainTransport, with or without SRTP,
// sending to one counting sink. Not the bench (bench/ has the octomesh figures): bare workers.
// Usage: WORKERS=/path/a,/path/b [CONSUMERS=100] [SECONDS=6] [ROUNDS=3] node srtp-cost.cjs
const dgram = require('node:dgram');
const crypto = require('node:crypto');
const mediasoup = require('mediasoup');

const BINS = (process.env.WORKERS || mediasoup.workerBin).split(',');
const CONSUMERS = Number(process.env.CONSUMERS || 100);
const SECONDS = Number(process.env.SECONDS || 6);
const ROUNDS = Number(process.env.ROUNDS || 3);
const PPS = 300;
const MODES = [
	{ name: 'plain' },
	{ name: 'srtp-gcm', suite: 'AEAD_AES_256_GCM', keyLen: 44 },
	{ name: 'srtp-cm', suite: 'AES_CM_128_HMAC_SHA1_80', keyLen: 30 },
];
const LISTEN = { listenInfo: { protocol: 'udp', ip: '127.0.0.1' } };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function vp8Packet(seq) { // RTP header + VP8 keyframe descriptor and header + ~1000 bytes
	const h = Buffer.alloc(12);
	h[0] = 0x80; h[1] = 0x80 | 101;
	h.writeUInt16BE(seq & 0xffff, 2); h.writeUInt32BE((seq * 3000) >>> 0, 4); h.writeUInt32BE(22222222, 8);
	const desc = Buffer.from([0x90, 0x80, 0x80 | ((seq >> 8) & 0x7f), seq & 0xff, 0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00]);
	return Buffer.concat([h, desc, Buffer.alloc(1000, 0xab)]);
}

async function phase(bin, mode) {
	const worker = await mediasoup.createWorker({ logLevel: 'error', workerBin: bin });
	const router = await worker.createRouter({ mediaCodecs: [{ kind: 'video', mimeType: 'video/VP8', clockRate: 90000 }] });
	const ingest = await router.createPlainTransport({ ...LISTEN, rtcpMux: true, comedia: true });
	const producer = await ingest.produce({ kind: 'video', rtpParameters: { codecs: [{ mimeType: 'video/VP8', payloadType: 101, clockRate: 90000 }], encodings: [{ ssrc: 22222222 }] } });
	const sink = dgram.createSocket('udp4');
	let received = 0;
	sink.on('message', () => { received++; });
	await new Promise((r) => sink.bind(0, '127.0.0.1', r));
	for (let i = 0; i < CONSUMERS; i++) {
		const t = await router.createPlainTransport({ ...LISTEN, rtcpMux: true, comedia: false, enableSrtp: Boolean(mode.suite), ...(mode.suite ? { srtpCryptoSuite: mode.suite } : {}) });
		await t.connect({ ip: '127.0.0.1', port: sink.address().port, ...(mode.suite ? { srtpParameters: { cryptoSuite: mode.suite, keyBase64: crypto.randomBytes(mode.keyLen).toString('base64') } } : {}) });
		await t.consume({ producerId: producer.id, rtpCapabilities: router.rtpCapabilities });
	}
	const tx = dgram.createSocket('udp4');
	let seq = 0;
	const send = () => tx.send(vp8Packet(seq++), ingest.tuple.localPort, '127.0.0.1');
	const warm = setInterval(send, 1000 / PPS);
	await sleep(1000);
	const ru0 = await worker.getResourceUsage();
	const rx0 = received;
	const t0 = process.hrtime.bigint();
	await sleep(SECONDS * 1000);
	const ru1 = await worker.getResourceUsage();
	const rx1 = received;
	const wallSec = Number(process.hrtime.bigint() - t0) / 1e9;
	clearInterval(warm);
	const cpuMs = ru1.ru_utime + ru1.ru_stime - ru0.ru_utime - ru0.ru_stime;
	tx.close(); sink.close(); worker.close();
	return { usPerPacket: (cpuMs * 1000) / Math.max(1, rx1 - rx0), pps: (rx1 - rx0) / wallSec, cpu: cpuMs / 1000 / wallSec };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

(async () => {
	const results = {};
	for (let r = 0; r < ROUNDS; r++) {
		for (const mode of MODES) {
			for (const bin of BINS) {
				const res = await phase(bin, mode);
				((results[bin] ??= {})[mode.name] ??= []).push(res);
				console.error(`round ${r + 1} ${mode.name.padEnd(8)} ${bin}: ${res.usPerPacket.toFixed(2)} us/pkt, ${res.pps.toFixed(0)} pkt/s out, worker cpu ${(res.cpu * 100).toFixed(0)} %`);
			}
		}
	}
	const table = {};
	for (const bin of BINS) {
		const row = {};
		for (const mode of MODES) row[mode.name] = Number(median(results[bin][mode.name].map((x) => x.usPerPacket)).toFixed(2));
		row.gcmToPlain = Number((row['srtp-gcm'] / row.plain).toFixed(3));
		row.cmToPlain = Number((row['srtp-cm'] / row.plain).toFixed(3));
		table[bin] = row;
	}
	console.log(JSON.stringify({ consumers: CONSUMERS, pps: PPS, seconds: SECONDS, rounds: ROUNDS, usPerForwardedPacket: table }, null, 2));
})().catch((e) => { console.error(e); process.exit(1); });
