import CompressNIO
import NIOCore

/// zlib (RFC 1950) inflate and deflate for spamd bodies (`Compress: zlib`), bounded in output size.
enum SpamdZlib {
    /// Inflates a complete zlib stream. Fails on corrupt or truncated input, and when the output would exceed
    /// `limit` bytes (checked as it grows, so a compression bomb costs at most `limit` plus one window).
    static func inflate(_ compressed: ByteBuffer, limit: Int) throws(SpamdError) -> [UInt8] {
        guard compressed.readableBytes > 0 else {
            throw .unavailable("zlib: empty compressed body", code: .decompressionFailed)
        }
        var input = compressed
        var output: [UInt8] = []
        let windowSize = 64 * 1024
        var window = ByteBufferAllocator().buffer(capacity: windowSize)
        let decompressor: ZlibDecompressor
        do {
            decompressor = try ZlibDecompressor(algorithm: .zlib, windowSize: 15)
        } catch {
            throw .unavailable("zlib: \(error)", code: .decompressionFailed)
        }

        func drain(_ window: inout ByteBuffer) throws(SpamdError) {
            if output.count + window.readableBytes > limit {
                throw SpamdError.bodyTooLarge(limit: limit)
            }
            output.append(contentsOf: window.readableBytesView)
            window.clear()
        }

        // Inflate until zlib reports the end of the stream (inflate returns without error and without a full window).
        while true {
            do {
                try decompressor.inflate(from: &input, to: &window)
                try drain(&window)
                break
            } catch let error as CompressNIOError where error == .bufferOverflow {
                try drain(&window)  // window full: keep going
            } catch let error as CompressNIOError where error == .inputBufferOverflow {
                throw .unavailable("zlib: failed to find end of zlib stream", code: .decompressionFailed)
            } catch let error as CompressNIOError where error == .corruptData {
                throw .unavailable("zlib: corrupt compressed data", code: .decompressionFailed)
            } catch let error as SpamdError {
                throw error
            } catch {
                throw .unavailable("zlib: \(error)", code: .decompressionFailed)
            }
        }

        // A return without error also happens when all input was consumed mid-stream (truncated body). zlib keeps
        // answering Z_STREAM_END once the stream has ended, without consuming input; a truncated stream consumes a
        // probe byte (or reports an error) instead.
        var probe = ByteBufferAllocator().buffer(capacity: 1)
        probe.writeInteger(UInt8(0))
        do {
            try decompressor.inflate(from: &probe, to: &window)
        } catch {
            throw .unavailable("zlib: failed to find end of zlib stream", code: .decompressionFailed)
        }
        guard probe.readableBytes == 1, window.readableBytes == 0 else {
            throw .unavailable("zlib: failed to find end of zlib stream", code: .decompressionFailed)
        }
        return output
    }

    /// Deflates `bytes` as a zlib stream (what spamc `-z` sends; spamc uses level 3).
    static func deflate(_ bytes: [UInt8]) throws -> ByteBuffer {
        var input = ByteBufferAllocator().buffer(bytes: bytes)
        return try input.compress(with: .zlib(configuration: .init(compressionLevel: 3)))
    }
}
