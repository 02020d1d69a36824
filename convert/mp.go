package convert

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/tinylib/msgp/msgp"
)

// Small msgpack helpers on top of msgp's zero-copy byte readers: an
// iterative skip (msgp.Skip recurses), raw extension access, and the kind
// of a value with extensions folded into one.

// kind returns the msgpack type of the value at the start of b, folding the
// extension sub-kinds msgp distinguishes (time, complex) into ExtensionType.
func kind(b []byte) msgp.Type {
	t := msgp.NextType(b)
	switch t {
	case msgp.TimeType, msgp.Complex64Type, msgp.Complex128Type:
		return msgp.ExtensionType
	}
	return t
}

// typeName names the type of the value at the start of b for messages.
func typeName(b []byte) string {
	if len(b) == 0 {
		return "nothing (end of data)"
	}
	t := kind(b)
	if t == msgp.InvalidType {
		return fmt.Sprintf("invalid byte 0x%02x", b[0])
	}
	return t.String()
}

// strHeader returns the payload offset and length of a str or bin value at
// the start of b (ok false for other types or short data).
func strHeader(b []byte) (off, n int, ok bool) {
	if len(b) == 0 {
		return 0, 0, false
	}
	switch lead := b[0]; {
	case lead&0xe0 == 0xa0: // fixstr
		off, n = 1, int(lead&0x1f)
	case lead == 0xd9 || lead == 0xc4: // str8, bin8
		if len(b) < 2 {
			return 0, 0, false
		}
		off, n = 2, int(b[1])
	case lead == 0xda || lead == 0xc5: // str16, bin16
		if len(b) < 3 {
			return 0, 0, false
		}
		off, n = 3, int(binary.BigEndian.Uint16(b[1:]))
	case lead == 0xdb || lead == 0xc6: // str32, bin32
		if len(b) < 5 {
			return 0, 0, false
		}
		off, n = 5, int(binary.BigEndian.Uint32(b[1:]))
	default:
		return 0, 0, false
	}
	if n > len(b)-off {
		return 0, 0, false
	}
	return off, n, true
}

// valueLen is skipLen with a fast path for strings and small scalars.
func valueLen(b []byte) (int, error) {
	if len(b) > 0 {
		lead := b[0]
		if lead&0xe0 == 0xa0 { // fixstr
			if n := 1 + int(lead&0x1f); n <= len(b) {
				return n, nil
			}
			return 0, msgp.ErrShortBytes
		}
		if lead <= 0x7f || lead >= 0xe0 || lead == 0xc0 || lead == 0xc2 || lead == 0xc3 {
			return 1, nil
		}
	}
	return skipLen(b)
}

// skipLen returns the encoded length of the value at the start of b. It is
// iterative, so arbitrarily deep nesting costs no stack, and it fails fast
// on headers that announce more elements than bytes remain.
func skipLen(b []byte) (int, error) {
	pos, pending := 0, 1
	for pending > 0 {
		if pos >= len(b) {
			return 0, msgp.ErrShortBytes
		}
		// Every pending value needs at least one byte.
		if pending > len(b)-pos {
			return 0, msgp.ErrShortBytes
		}
		pending--
		lead := b[pos]
		var size, elems int
		switch {
		case lead <= 0x7f || lead >= 0xe0: // fixint
			size = 1
		case lead <= 0x8f: // fixmap
			size, elems = 1, 2*int(lead&0x0f)
		case lead <= 0x9f: // fixarray
			size, elems = 1, int(lead&0x0f)
		case lead <= 0xbf: // fixstr
			size = 1 + int(lead&0x1f)
		default:
			var err error
			size, elems, err = sizeOf(b[pos:])
			if err != nil {
				return 0, err
			}
		}
		if size > len(b)-pos {
			return 0, msgp.ErrShortBytes
		}
		pos += size
		pending += elems
	}
	return pos, nil
}

// sizeOf decodes the header of a non-fix msgpack value: its size in bytes
// excluding nested elements, and the number of nested elements.
func sizeOf(b []byte) (size, elems int, err error) {
	lead := b[0]
	switch lead {
	case 0xc0, 0xc2, 0xc3: // nil, false, true
		return 1, 0, nil
	case 0xcc, 0xd0: // uint8, int8
		return 2, 0, nil
	case 0xcd, 0xd1: // uint16, int16
		return 3, 0, nil
	case 0xca, 0xce, 0xd2: // float32, uint32, int32
		return 5, 0, nil
	case 0xcb, 0xcf, 0xd3: // float64, uint64, int64
		return 9, 0, nil
	case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8: // fixext 1, 2, 4, 8, 16
		return 2 + 1<<(lead-0xd4), 0, nil
	}
	// Length-prefixed types: 8, 16 or 32-bit length after the lead byte
	// (ext adds its type byte after the length).
	var width, extra int
	switch lead {
	case 0xc4, 0xd9, 0xc7: // bin8, str8, ext8
		width = 1
	case 0xc5, 0xda, 0xc8, 0xdc, 0xde: // bin16, str16, ext16, array16, map16
		width = 2
	case 0xc6, 0xdb, 0xc9, 0xdd, 0xdf: // bin32, str32, ext32, array32, map32
		width = 4
	default:
		return 0, 0, msgp.InvalidPrefixError(lead)
	}
	if len(b) < 1+width {
		return 0, 0, msgp.ErrShortBytes
	}
	var n int
	switch width {
	case 1:
		n = int(b[1])
	case 2:
		n = int(binary.BigEndian.Uint16(b[1:]))
	default:
		n = int(binary.BigEndian.Uint32(b[1:]))
	}
	switch lead {
	case 0xc7, 0xc8, 0xc9: // ext: type byte, then payload
		extra = 1
		return 1 + width + extra + n, 0, nil
	case 0xdc, 0xdd: // arrays
		return 1 + width, n, nil
	case 0xde, 0xdf: // maps
		return 1 + width, 2 * n, nil
	}
	return 1 + width + n, 0, nil
}

// skip returns b after the value at its start.
func skip(b []byte) ([]byte, error) {
	n, err := skipLen(b)
	if err != nil {
		return b, err
	}
	return b[n:], nil
}

// readExt reads an extension value: its type, its payload (a sub-slice of
// b) and the bytes after it.
func readExt(b []byte) (typ int8, data, rest []byte, err error) {
	if len(b) < 2 {
		return 0, nil, b, msgp.ErrShortBytes
	}
	var off, n int
	switch b[0] {
	case 0xd4:
		off, n = 2, 1
	case 0xd5:
		off, n = 2, 2
	case 0xd6:
		off, n = 2, 4
	case 0xd7:
		off, n = 2, 8
	case 0xd8:
		off, n = 2, 16
	case 0xc7:
		off = 3
		if len(b) < off {
			return 0, nil, b, msgp.ErrShortBytes
		}
		n = int(b[1])
	case 0xc8:
		off = 4
		if len(b) < off {
			return 0, nil, b, msgp.ErrShortBytes
		}
		n = int(binary.BigEndian.Uint16(b[1:]))
	case 0xc9:
		off = 6
		if len(b) < off {
			return 0, nil, b, msgp.ErrShortBytes
		}
		n = int(binary.BigEndian.Uint32(b[1:]))
	default:
		return 0, nil, b, msgp.TypeError{Method: msgp.ExtensionType, Encoded: msgp.NextType(b)}
	}
	if n > len(b)-off {
		return 0, nil, b, msgp.ErrShortBytes
	}
	return int8(b[off-1]), b[off : off+n], b[off+n:], nil
}

// errTooShort reports whether err says the data ended early.
func errTooShort(err error) bool {
	return errors.Is(err, msgp.ErrShortBytes)
}
