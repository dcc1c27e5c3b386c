package router

import (
	"hash"

	"github.com/IBM/sarama"
)

// newPartitioner places keyed messages as Kafka's Java client does:
// murmur2 of the key, sign bit cleared, modulo the partition count. Any
// other client configured the Kafka way then agrees on which partition
// holds a property's messages.
var newPartitioner = sarama.NewCustomPartitioner(
	sarama.WithAbsFirst(),
	sarama.WithCustomHashFunction(func() hash.Hash32 { return &murmur2Hash{} }),
)

// murmur2Hash is Kafka's murmur2 (seed 0x9747b28c) as a hash.Hash32. It
// buffers the bytes written, as murmur2 needs the length up front.
type murmur2Hash struct{ buf []byte }

func (h *murmur2Hash) Write(p []byte) (int, error) { h.buf = append(h.buf, p...); return len(p), nil }
func (h *murmur2Hash) Sum(b []byte) []byte {
	s := h.Sum32()
	return append(b, byte(s>>24), byte(s>>16), byte(s>>8), byte(s))
}
func (h *murmur2Hash) Reset()         { h.buf = h.buf[:0] }
func (h *murmur2Hash) Size() int      { return 4 }
func (h *murmur2Hash) BlockSize() int { return 4 }
func (h *murmur2Hash) Sum32() uint32  { return murmur2(h.buf) }

func murmur2(data []byte) uint32 {
	const (
		seed uint32 = 0x9747b28c
		m    uint32 = 0x5bd1e995
		r           = 24
	)
	n := len(data)
	h := seed ^ uint32(n)
	for i := 0; i+4 <= n; i += 4 {
		k := uint32(data[i]) | uint32(data[i+1])<<8 | uint32(data[i+2])<<16 | uint32(data[i+3])<<24
		k *= m
		k ^= k >> r
		k *= m
		h *= m
		h ^= k
	}
	tail := n &^ 3
	switch n % 4 {
	case 3:
		h ^= uint32(data[tail+2]) << 16
		fallthrough
	case 2:
		h ^= uint32(data[tail+1]) << 8
		fallthrough
	case 1:
		h ^= uint32(data[tail])
		h *= m
	}
	h ^= h >> 13
	h *= m
	h ^= h >> 15
	return h
}
