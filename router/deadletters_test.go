package router

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/roomwire/roomwire/reservations/bookingapi"
	"github.com/roomwire/roomwire/reservations/pgtest"
)

// doJSON sends a request to h and decodes the JSON answer into out (if
// not nil), returning the status and content type.
func doJSON(t *testing.T, h http.Handler, method, path, body string, out any) (int, string) {
	t.Helper()
	var req *http.Request
	if body == "" {
		req = httptest.NewRequest(method, path, nil)
	} else {
		req = httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if out != nil && rec.Body.Len() > 0 {
		if err := json.Unmarshal(rec.Body.Bytes(), out); err != nil {
			t.Fatalf("%s %s: decode %q: %v", method, path, rec.Body.String(), err)
		}
	}
	return rec.Code, rec.Header().Get("Content-Type")
}

// replayWorld is a backbone with two consumers of one topic: "pms", which
// fails permanently on messages listed in broken, and "channel", which
// never fails. Each counts its effects.
type replayWorld struct {
	b        *Backbone
	topic    string
	broken   atomic.Value // map[string]bool
	pms      *effects
	channel  *effects
	dlq      http.Handler
	actorHdr string
}

func newReplayWorld(t *testing.T, configure ...func(*Config)) *replayWorld {
	pool := pgtest.Pool(t)
	broker := testKafka(t)
	cfg := testConfig(broker)
	for _, c := range configure {
		c(&cfg)
	}
	w := &replayWorld{b: newBackbone(t, cfg, pool), topic: uniqueTopic("replay"), pms: newEffects(), channel: newEffects()}
	w.broken.Store(map[string]bool{})
	err := w.b.AddConsumer("pms", w.topic, func(msg *message.Message) error {
		if w.broken.Load().(map[string]bool)[msg.UUID] {
			return Permanent(errors.New("pms rejects the room type"))
		}
		w.pms.add(msg.Metadata.Get(MetadataPartitionKey), msg.UUID)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = w.b.AddConsumer("channel", w.topic, func(msg *message.Message) error {
		w.channel.add(msg.Metadata.Get(MetadataPartitionKey), msg.UUID)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	w.dlq = w.b.DeadLetters().Handler(DeadLetterHandlerOptions{
		Actor: func(r *http.Request) string { return r.Header.Get("X-Test-Actor") },
	})
	runBackbone(t, w.b)
	return w
}

// deadLetterOf waits for the dead letter of message id.
func (w *replayWorld) deadLetterOf(t *testing.T, id string) DeadLetter {
	t.Helper()
	var found DeadLetter
	eventually(t, 30*time.Second, "the dead letter of "+id, func() bool {
		letters, err := w.b.DeadLetters().List(context.Background(), DeadLetterFilter{Consumer: "pms"})
		if err != nil {
			t.Fatal(err)
		}
		for _, dl := range letters {
			if dl.MessageID == id {
				found = dl
				return true
			}
		}
		return false
	})
	return found
}

func (w *replayWorld) duplicates(consumer string) float64 {
	return testutil.ToFloat64(w.b.metrics.handlerMessages.WithLabelValues(consumer, "duplicate"))
}

func TestReplayProducesExactlyOneDownstreamEffect(t *testing.T) {
	w := newReplayWorld(t)
	w.broken.Store(map[string]bool{"booking-x": true})
	publishKeyed(t, w.b.Publisher(), w.topic, "hotel-1", `{"booking":"x"}`, "booking-x", "booking-y")

	dl := w.deadLetterOf(t, "booking-x")
	eventually(t, 10*time.Second, "the channel to handle both and the pms y", func() bool {
		return w.channel.distinct() == 2 && w.pms.times("booking-y") == 1
	})
	if w.pms.times("booking-x") != 0 || w.pms.times("booking-y") != 1 {
		t.Fatalf("pms effects before replay: x=%d y=%d", w.pms.times("booking-x"), w.pms.times("booking-y"))
	}

	w.broken.Store(map[string]bool{}) // the operator fixed the cause
	req := httptest.NewRequest(http.MethodPost, fmt.Sprintf("/v1/ops/dlq/%d/replay", dl.ID), nil)
	req.Header.Set("X-Test-Actor", "ops-key-1")
	rec := httptest.NewRecorder()
	w.dlq.ServeHTTP(rec, req)
	if rec.Code != http.StatusAccepted {
		t.Fatalf("replay: %d %s", rec.Code, rec.Body)
	}
	eventually(t, 30*time.Second, "the replayed booking at the pms", func() bool { return w.pms.times("booking-x") == 1 })
	// The channel had handled it already: it sees the replay and skips it.
	eventually(t, 30*time.Second, "the channel to skip the replay", func() bool { return w.duplicates("channel") == 1 })

	// A second replay (say, by a nervous operator) changes nothing.
	var resp struct{ Replayed []int64 }
	code, _ := doJSON(t, w.dlq, http.MethodPost, "/v1/ops/dlq/replay", fmt.Sprintf(`{"ids":[%d]}`, dl.ID), &resp)
	if code != http.StatusAccepted || len(resp.Replayed) != 1 {
		t.Fatalf("second replay: %d %v", code, resp)
	}
	eventually(t, 30*time.Second, "both consumers to skip the second replay", func() bool {
		return w.duplicates("channel") == 2 && w.duplicates("pms") == 1
	})
	for _, e := range []*effects{w.pms, w.channel} {
		if e.times("booking-x") != 1 || e.times("booking-y") != 1 {
			t.Errorf("effects: x=%d y=%d, want one each", e.times("booking-x"), e.times("booking-y"))
		}
	}

	got, err := w.b.DeadLetters().Get(context.Background(), dl.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != DeadLetterResolved || got.ReplayCount != 2 {
		t.Errorf("after replays: status %s, replay count %d", got.Status, got.ReplayCount)
	}
	audit, err := w.b.DeadLetters().Audit(context.Background(), dl.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(audit) != 2 || audit[0].Actor != "ops-key-1" || audit[0].CompletedAt == nil || audit[1].ReplayCount != 2 {
		t.Errorf("audit: %+v", audit)
	}
}

func TestReplayInterruptedBeforePublishingIsFinished(t *testing.T) {
	// Housekeeping runs once at start only, so the interrupted replay stays
	// interrupted until the test resumes it as the housekeeping would.
	w := newReplayWorld(t, func(c *Config) { c.MetricsInterval = time.Hour })
	w.broken.Store(map[string]bool{"booking-z": true})
	publishKeyed(t, w.b.Publisher(), w.topic, "hotel-2", `{}`, "booking-z")
	dl := w.deadLetterOf(t, "booking-z")
	w.broken.Store(map[string]bool{})
	ctx := context.Background()

	// The process dies right after recording the replay request: the
	// request is committed, nothing is published yet.
	accepted, err := w.b.DeadLetters().requestReplay(ctx, `id = ANY($1)`, []any{[]int64{dl.ID}}, "ops")
	if err != nil || len(accepted) != 1 {
		t.Fatalf("request replay: %v %v", accepted, err)
	}
	if got, _ := w.b.DeadLetters().Get(ctx, dl.ID); got.Status != DeadLetterReplaying {
		t.Fatalf("status %s, want replaying", got.Status)
	}
	// Purging a dead letter whose replay is pending would lose it.
	if err := w.b.DeadLetters().Purge(ctx, dl.ID, "ops"); !errors.Is(err, ErrReplayInProgress) {
		t.Errorf("purge during replay: %v", err)
	}
	// A second request while one is pending is not a second replay.
	if again, err := w.b.DeadLetters().Replay(ctx, []int64{dl.ID}, "ops"); err != nil || len(again) != 0 {
		t.Errorf("replay while replaying: %v %v", again, err)
	}

	n, err := w.b.DeadLetters().ResumeReplays(ctx)
	if err != nil || n != 1 {
		t.Fatalf("resume: %d %v", n, err)
	}
	eventually(t, 30*time.Second, "the resumed replay to be handled", func() bool { return w.pms.times("booking-z") == 1 })
	eventually(t, 10*time.Second, "the dead letter to be resolved", func() bool {
		got, _ := w.b.DeadLetters().Get(ctx, dl.ID)
		return got.Status == DeadLetterResolved
	})
	if n, err := w.b.DeadLetters().ResumeReplays(ctx); err != nil || n != 0 {
		t.Errorf("second resume published %d: %v", n, err)
	}
}

func TestDeadLetterHTTP(t *testing.T) {
	w := newReplayWorld(t)
	const card = "4111111111111111"
	w.broken.Store(map[string]bool{"m-1": true, "m-2": true})
	publishKeyed(t, w.b.Publisher(), w.topic, "hotel-3",
		`{"reservation":{"primary_guest":{"surname":"Doe","email":"jane@example.com"},"comments":["card `+card+`"]},"api_key":"k-1"}`,
		"m-1", "m-2")
	first := w.deadLetterOf(t, "m-1")
	w.deadLetterOf(t, "m-2")

	var list struct {
		DeadLetters []DeadLetter `json:"dead_letters"`
		NextAfter   *int64       `json:"next_after"`
	}
	if code, ct := doJSON(t, w.dlq, http.MethodGet, "/v1/ops/dlq?topic="+w.topic+"&reason=permanent&limit=1", "", &list); code != 200 || ct != "application/json" {
		t.Fatalf("list: %d %s", code, ct)
	}
	if len(list.DeadLetters) != 1 || list.NextAfter == nil || list.DeadLetters[0].ID != first.ID {
		t.Fatalf("first page: %+v", list)
	}
	if code, _ := doJSON(t, w.dlq, http.MethodGet, fmt.Sprintf("/v1/ops/dlq?topic=%s&after=%d", w.topic, *list.NextAfter), "", &list); code != 200 || len(list.DeadLetters) != 1 {
		t.Fatalf("second page: %d %+v", code, list)
	}
	if code, _ := doJSON(t, w.dlq, http.MethodGet, "/v1/ops/dlq?reason=timeout", "", &list); code != 200 || len(list.DeadLetters) != 0 {
		t.Fatalf("filtered list: %d %+v", code, list)
	}
	// Filters PostgreSQL cannot compare (a NUL byte) are the caller's mistake, not a 500.
	if code, _ := doJSON(t, w.dlq, http.MethodGet, "/v1/ops/dlq?topic=a%00b", "", nil); code != http.StatusBadRequest {
		t.Fatalf("a topic with a NUL byte: %d, want 400", code)
	}
	if code, _ := doJSON(t, w.dlq, http.MethodPost, "/v1/ops/dlq/replay", `{"all": true, "topic": "a\u0000b"}`, nil); code != http.StatusBadRequest {
		t.Fatalf("replay of a topic with a NUL byte: %d, want 400", code)
	}

	rec := httptest.NewRecorder()
	w.dlq.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, fmt.Sprintf("/v1/ops/dlq/%d", first.ID), nil))
	body := rec.Body.String()
	if rec.Code != 200 || strings.Contains(body, card) || strings.Contains(body, "jane@example.com") || strings.Contains(body, "k-1") ||
		!strings.Contains(body, "Doe") || !strings.Contains(body, `"payload_redacted":true`) || !strings.Contains(body, `"encoding":"json"`) {
		t.Errorf("show: %d %s", rec.Code, body)
	}
	if strings.Contains(string(first.Payload), card) {
		t.Error("card number stored in the dead letter")
	}

	problems := []struct {
		method, path, body string
		status             int
		code               string
	}{
		{http.MethodGet, "/v1/ops/dlq/999999", "", 404, bookingapi.CodeNotFound},
		{http.MethodGet, "/v1/ops/dlq/abc", "", 404, bookingapi.CodeNotFound},
		{http.MethodPut, "/v1/ops/dlq/1", "", 405, bookingapi.CodeMethodNotAllowed},
		{http.MethodGet, "/v1/ops/dlq?limit=0", "", 400, bookingapi.CodeBadRequest},
		{http.MethodPost, "/v1/ops/dlq/replay", `{"all":true}`, 400, bookingapi.CodeBadRequest},
		{http.MethodPost, "/v1/ops/dlq/replay", `{"ids":[1],"all":true,"topic":"t"}`, 400, bookingapi.CodeBadRequest},
		{http.MethodPost, "/v1/ops/dlq/replay", `{"idz":[1]}`, 400, bookingapi.CodeBadRequest},
		{http.MethodPost, "/v1/ops/dlq/999999/replay", "", 404, bookingapi.CodeNotFound},
		{http.MethodDelete, "/v1/ops/dlq/999999", "", 404, bookingapi.CodeNotFound},
	}
	for _, p := range problems {
		var prob bookingapi.Problem
		code, ct := doJSON(t, w.dlq, p.method, p.path, p.body, &prob)
		// One problem shape everywhere: the booking API's, with its type and title.
		if code != p.status || ct != "application/problem+json" || prob.Code != p.code || prob.Status != p.status ||
			prob.Type != "https://roomwire.dev/problems/"+p.code || prob.Title == "" {
			t.Errorf("%s %s: %d %s %+v", p.method, p.path, code, ct, prob)
		}
	}

	if code, _ := doJSON(t, w.dlq, http.MethodDelete, fmt.Sprintf("/v1/ops/dlq/%d", first.ID), "", nil); code != http.StatusNoContent {
		t.Fatalf("purge: %d", code)
	}
	if code, _ := doJSON(t, w.dlq, http.MethodGet, fmt.Sprintf("/v1/ops/dlq/%d", first.ID), "", nil); code != 404 {
		t.Errorf("purged dead letter still shown: %d", code)
	}
	audit, _ := w.b.DeadLetters().Audit(context.Background(), first.ID)
	if len(audit) != 1 || audit[0].Action != "purge" {
		t.Errorf("purge audit: %+v", audit)
	}

	// Replay everything of the topic: only m-2 is left.
	w.broken.Store(map[string]bool{})
	var resp struct {
		Replayed []int64 `json:"replayed"`
		Count    int     `json:"count"`
	}
	if code, _ := doJSON(t, w.dlq, http.MethodPost, "/v1/ops/dlq/replay", `{"all":true,"topic":"`+w.topic+`"}`, &resp); code != 202 || resp.Count != 1 {
		t.Fatalf("replay all: %d %+v", code, resp)
	}
	eventually(t, 30*time.Second, "m-2 at the pms", func() bool { return w.pms.times("m-2") == 1 })
	if w.pms.times("m-1") != 0 {
		t.Error("a purged dead letter was replayed")
	}
}
