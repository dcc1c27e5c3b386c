package router

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/roomwire/roomwire/canonical"
)

func TestMurmur2MatchesKafka(t *testing.T) {
	// Vectors from Kafka's own UtilsTest.
	tests := []struct {
		in   string
		want int32
	}{
		{"21", -973932308},
		{"foobar", -790332482},
		{"a-little-bit-long-string", -985981536},
		{"a-little-bit-longer-string", -1486304829},
		{"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971},
		{"abc", 479470107},
	}
	for _, tt := range tests {
		if got := int32(murmur2([]byte(tt.in))); got != tt.want {
			t.Errorf("murmur2(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestMarshalerUnmarshalNeverFails(t *testing.T) {
	m := NewMarshaler()
	good := message.NewMessage("id-1", []byte(`{"a":1}`))
	good.Metadata.Set(MetadataPartitionKey, "prop-1")
	good.Metadata.Set(MetadataCorrelationID, "corr-1")
	pm, err := m.Marshal("topic", good)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := pm.Key.Encode()
	if string(key) != "prop-1" {
		t.Fatalf("key = %q, want prop-1", key)
	}
	headers := make([]*sarama.RecordHeader, len(pm.Headers))
	for i := range pm.Headers {
		headers[i] = &pm.Headers[i]
	}

	tests := []struct {
		name          string
		rec           *sarama.ConsumerMessage
		wantID        string
		wantMalformed string
	}{
		{"round trip", &sarama.ConsumerMessage{Topic: "t", Key: key, Value: []byte(`{"a":1}`), Headers: headers}, "id-1", ""},
		{"no headers at all", &sarama.ConsumerMessage{Topic: "t", Partition: 3, Offset: 42, Value: []byte{0xff, 0x00}}, "kafka:t/3/42", "no message id"},
		{"binary header", &sarama.ConsumerMessage{Topic: "t", Headers: []*sarama.RecordHeader{
			{Key: []byte("_watermill_message_uuid"), Value: []byte("x")}, {Key: []byte("k"), Value: []byte{0xff}}}}, "x", "a header is not valid UTF-8"},
		{"forged malformed header is dropped", &sarama.ConsumerMessage{Topic: "t", Headers: []*sarama.RecordHeader{
			{Key: []byte("_watermill_message_uuid"), Value: []byte("y")}, {Key: []byte(MetadataMalformed), Value: []byte("z")}}}, "y", ""},
		{"nil header", &sarama.ConsumerMessage{Topic: "t", Headers: []*sarama.RecordHeader{nil,
			{Key: []byte("_watermill_message_uuid"), Value: []byte("w")}}}, "w", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg, err := m.Unmarshal(tt.rec)
			if err != nil {
				t.Fatalf("Unmarshal returned an error: %v", err)
			}
			if msg.UUID != tt.wantID {
				t.Errorf("id = %q, want %q", msg.UUID, tt.wantID)
			}
			if got := msg.Metadata.Get(MetadataMalformed); got != tt.wantMalformed {
				t.Errorf("malformed = %q, want %q", got, tt.wantMalformed)
			}
		})
	}
}

func TestKafkaConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		cfg     KafkaConfig
		wantErr string
	}{
		{"minimal", KafkaConfig{Brokers: []string{"localhost:9092"}}, ""},
		{"no brokers", KafkaConfig{}, "at least one broker"},
		{"broker without port", KafkaConfig{Brokers: []string{"localhost"}}, "not host:port"},
		{"old version", KafkaConfig{Brokers: []string{"a:1"}, Version: "0.10.2.0"}, "0.11.0 or newer"},
		{"bad version", KafkaConfig{Brokers: []string{"a:1"}, Version: "banana"}, "version"},
		{"scram", KafkaConfig{Brokers: []string{"a:1"}, SASL: SASLConfig{Mechanism: "scram-sha-512", User: "u", Password: "p"}}, ""},
		{"unknown mechanism", KafkaConfig{Brokers: []string{"a:1"}, SASL: SASLConfig{Mechanism: "GSSAPI", User: "u", Password: "p"}}, "not one of"},
		{"sasl without password", KafkaConfig{Brokers: []string{"a:1"}, SASL: SASLConfig{Mechanism: "PLAIN", User: "u"}}, "password is required"},
		{"cert without key", KafkaConfig{Brokers: []string{"a:1"}, TLS: TLSConfig{Enabled: true, CertFile: "c.pem"}}, "go together"},
		{"tls files without tls", KafkaConfig{Brokers: []string{"a:1"}, TLS: TLSConfig{CAFile: "ca.pem"}}, "not enabled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			cfg.setDefaults()
			err := cfg.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if _, err := cfg.saramaConfig(); err != nil {
					t.Fatalf("sarama config: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want it to mention %q", err, tt.wantErr)
			}
		})
	}
}

func TestSaramaConfigIsSafe(t *testing.T) {
	cfg := KafkaConfig{Brokers: []string{"a:1"}}
	cfg.setDefaults()
	sc, err := cfg.saramaConfig()
	if err != nil {
		t.Fatal(err)
	}
	if sc.Producer.Idempotent || sc.Producer.RequiredAcks != sarama.WaitForAll || sc.Net.MaxOpenRequests != 1 {
		t.Error("producer is not idempotent with acks=all and one request in flight")
	}
	if sc.Consumer.Offsets.Initial != sarama.OffsetOldest {
		t.Error("new consumer groups do not start at the oldest offset")
	}
	if sc.Version != sarama.V2_1_0_0 {
		t.Errorf("version = %s, want 2.1.0", sc.Version)
	}
}

func TestRetryDefaults(t *testing.T) {
	// In code, zero retries and zero jitter mean none; the rest is defaulted.
	cfg := RetryConfig{MaxRetries: -1}
	cfg.setDefaults()
	c := &consumer{retry: RetryConfig{MaxRetries: 5, InitialInterval: 100 * time.Millisecond, MaxInterval: 1600 * time.Millisecond, Multiplier: 2}}
	if cfg.MaxRetries != 0 || cfg.Jitter != 0 || cfg.InitialInterval != 100*time.Millisecond || cfg.MaxInterval != 1600*time.Millisecond || cfg.Multiplier != 2 {
		t.Fatalf("defaults = %+v", cfg)
	}
	want := []time.Duration{100, 200, 400, 800, 1600, 1600}
	for i, w := range want {
		if got := c.backoff(i, errors.New("x")); got != w*time.Millisecond {
			t.Errorf("backoff(%d) = %s, want %s", i, got, w*time.Millisecond)
		}
	}
	if got := c.backoff(0, RetryAfter(errors.New("429"), time.Second)); got != time.Second {
		t.Errorf("Retry-After not honoured: %s", got)
	}
	if got := c.backoff(0, RetryAfter(errors.New("429"), time.Hour)); got != 1600*time.Millisecond {
		t.Errorf("Retry-After not capped: %s", got)
	}
	c.retry.Jitter = 0.2
	for i := 0; i < 100; i++ {
		if got := c.backoff(0, nil); got < 80*time.Millisecond || got > 120*time.Millisecond {
			t.Fatalf("jittered backoff %s outside ±20%%", got)
		}
	}
}

func TestPermanent(t *testing.T) {
	base := errors.New("bad request")
	p := Permanent(base)
	if !IsPermanent(p) || !IsPermanent(fmt.Errorf("wrapped: %w", p)) || !errors.Is(p, base) {
		t.Error("Permanent does not classify or unwrap")
	}
	if IsPermanent(base) || Permanent(nil) != nil {
		t.Error("plain errors or nil are not permanent")
	}
}

func TestRedact(t *testing.T) {
	const card = "4111 1111 1111 1111"
	tests := []struct {
		name     string
		in       string
		mustNot  []string
		mustHave []string
	}{
		{"card in json string", `{"comments":["pay with ` + card + ` please"]}`, []string{"4111"}, []string{canonical.Redacted, "please"}},
		{"secret fields", `{"api_key":"k-123","nested":{"Password":"hunter2","cvv":"123"},"ok":"yes"}`, []string{"k-123", "hunter2", `"123"`}, []string{"yes"}},
		{"xml", `<Card CardNumber="4111111111111111" SeriesCode="737"/><Password>pw-1</Password>`, []string{"4111111111111111", "737", "pw-1"}, []string{"<Card"}},
		{"plain text untouched", `room 101, 2 adults`, nil, []string{"room 101, 2 adults"}},
		{"card number as a key", `{"cards":{"` + card + `":"visa"},"note":"ok"}`, []string{"4111"}, []string{canonical.Redacted, "visa", "ok"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, _ := redactPayload([]byte(tt.in))
			for _, s := range tt.mustNot {
				if strings.Contains(string(out), s) {
					t.Errorf("%q still in %s", s, out)
				}
			}
			for _, s := range tt.mustHave {
				if !strings.Contains(string(out), s) {
					t.Errorf("%q missing from %s", s, out)
				}
			}
		})
	}
	shown := string(redactForDisplay([]byte(`{"primary_guest":{"email":"a@b.c","surname":"Doe"},"guarantee":{"card_token":"tok_1"}}`)))
	if strings.Contains(shown, "a@b.c") || strings.Contains(shown, "tok_1") || !strings.Contains(shown, "Doe") {
		t.Errorf("display redaction: %s", shown)
	}
	if got := redactError(errors.New("declined card " + card)); strings.Contains(got, "4111") {
		t.Errorf("error not redacted: %s", got)
	}
}

// classified mimics an error class of another package (the connector SDK's).
type classified struct {
	err                 error
	permanent, unmapped bool
}

func (e classified) Error() string   { return e.err.Error() }
func (e classified) Unwrap() error   { return e.err }
func (e classified) Permanent() bool { return e.permanent }
func (e classified) Unmapped() bool  { return e.unmapped }

func TestForeignErrorClasses(t *testing.T) {
	base := errors.New("x")
	tests := []struct {
		name      string
		err       error
		permanent bool
		reason    string
	}{
		{"foreign permanent", classified{err: base, permanent: true}, true, ReasonPermanent},
		{"foreign retryable wrapping permanent: outermost decides", classified{err: Permanent(base)}, false, ReasonRetriesExhausted},
		{"unmapped", fmt.Errorf("apply: %w", classified{err: base, unmapped: true}), true, ReasonUnmapped},
		{"timeout", fmt.Errorf("call: %w", context.DeadlineExceeded), false, ReasonTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsPermanent(tt.err); got != tt.permanent {
				t.Errorf("IsPermanent = %v, want %v", got, tt.permanent)
			}
			if got := reasonFor(tt.err); got != tt.reason {
				t.Errorf("reason = %q, want %q", got, tt.reason)
			}
		})
	}
}
