use super::*;

/// A frame as a client sends it: FIN, `opcode`, masked with `key`.
fn client_frame(opcode: u8, payload: &[u8], key: [u8; 4], fin: bool) -> Vec<u8> {
    let mut f = vec![if fin { 0x80 } else { 0 } | opcode];
    match payload.len() {
        n if n < 126 => f.push(0x80 | n as u8),
        n if n <= 0xffff => {
            f.push(0x80 | 126);
            f.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            f.push(0x80 | 127);
            f.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    f.extend_from_slice(&key);
    f.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    f
}

fn payloads(stream: &[u8], step: usize) -> (Vec<u8>, usize, bool) {
    let mut frames = Frames::default();
    let mut pieces = Vec::new();
    for chunk in stream.chunks(step.max(1)) {
        frames.feed(chunk, &mut pieces);
    }
    let mut data = Vec::new();
    let mut ends = 0;
    let mut compressed = false;
    for p in pieces {
        match p {
            Piece::Payload(p) => data.extend(p),
            Piece::End => ends += 1,
            Piece::Header { compressed: c, .. } => compressed |= c,
        }
    }
    (data, ends, compressed)
}

#[test]
fn frames_are_unmasked_across_any_chunking() {
    let big = vec![b'z'; 70_000];
    let mut stream = client_frame(1, b"hello ", [1, 2, 3, 4], false);
    stream.extend(client_frame(9, b"", [9, 9, 9, 9], true)); // a ping between fragments
    stream.extend(client_frame(0, b"world", [5, 6, 7, 8], true));
    stream.extend(client_frame(2, &vec![b'y'; 300], [0xff, 0, 0xff, 0], true));
    stream.extend(client_frame(2, &big, [7, 7, 7, 7], true));
    let mut want = b"hello world".to_vec();
    want.extend(vec![b'y'; 300]);
    want.extend(&big);
    for step in [1, 2, 3, 7, 100, 1 << 20] {
        let (data, ends, compressed) = payloads(&stream, step);
        assert_eq!(data.len(), want.len(), "step {step}");
        assert!(data == want, "step {step}");
        assert_eq!(ends, 5);
        assert!(!compressed);
    }
    let mut deflated = client_frame(1, b"x", [0; 4], true);
    deflated[0] |= 0x40;
    assert!(payloads(&deflated, 1).2, "RSV1 is reported");
}
