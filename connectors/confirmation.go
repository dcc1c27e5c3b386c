package connectors

import (
	"crypto/sha256"
	"encoding/binary"
)

// ConfirmationReference returns Roomwire's confirmation reference for a
// channel's booking, such as RW-7KQ2-9XD4, which channels are told when they
// deliver or when Roomwire confirms a booking. It is derived from the
// connector, the channel's hotel code and its reservation id alone, so it is
// known as soon as the booking is durable (before the store has applied it),
// and every redelivery and modification of the booking gets the same one.
func ConfirmationReference(connector, hotel, externalID string) string {
	sum := sha256.Sum256([]byte(connector + "\x00" + hotel + "\x00" + externalID))
	v := binary.BigEndian.Uint64(sum[:8])
	const alphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ" // no 0, 1, I, O: guests misread them
	var b [8]byte
	for i := range b {
		b[i] = alphabet[v%32]
		v /= 32
	}
	return "RW-" + string(b[:4]) + "-" + string(b[4:])
}
