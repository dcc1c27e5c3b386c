// Package ops is roomwire's operator commands, dlq and timeline. They talk
// to a running hub over its API, with the admin key: one source of truth, and
// they work from any machine that reaches it.
package ops

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	flag "github.com/spf13/pflag"

	"github.com/roomwire/roomwire/cmd/roomwire/internal/cli"
	"github.com/roomwire/roomwire/config"
)

var (
	// DLQCommand is roomwire dlq.
	DLQCommand = cli.Command{Name: "dlq", Summary: "list, inspect, replay and purge dead-lettered messages", Run: dlqCommand}
	// TimelineCommand is roomwire timeline.
	TimelineCommand = cli.Command{Name: "timeline", Summary: "show every message in and out concerning a reservation", Run: timelineCommand}
)

// opsClient calls a running hub's API.
type opsClient struct {
	base string
	key  string
	http *http.Client
	json bool // print raw JSON
}

// opsFlags adds the flags every operator command shares.
func opsFlags(fs *flag.FlagSet) func() (*opsClient, error) {
	cfgPath := cli.ConfigFlag(fs)
	hubURL := fs.String("url", os.Getenv("ROOMWIRE_URL"), "the hub's API `URL` (env ROOMWIRE_URL; default: http:// + http.addr of the config)")
	asJSON := fs.Bool("json", false, "print the API's JSON answer")
	return func() (*opsClient, error) {
		cfg, err := config.Load(*cfgPath)
		if err != nil {
			return nil, err
		}
		if err := cfg.RequireAdminKey(); err != nil {
			return nil, err
		}
		base := *hubURL
		if base == "" {
			base = "http://" + cfg.HTTP.Addr
		}
		return &opsClient{base: strings.TrimRight(base, "/"), key: cfg.HTTP.AdminKey, http: &http.Client{Timeout: 30 * time.Second}, json: *asJSON}, nil
	}
}

// call sends a request and decodes a JSON answer into out, turning a problem
// document into an error that says what the hub said.
func (c *opsClient) call(ctx context.Context, method, path string, body any, out any) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot reach the hub at %s: %w (is roomwire serve running? set --url or ROOMWIRE_URL)", c.base, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 300 {
		var p struct{ Title, Detail, Code string }
		if json.Unmarshal(raw, &p) == nil && (p.Detail != "" || p.Title != "") {
			return nil, fmt.Errorf("%s (%s, HTTP %d)", strings.TrimSpace(p.Title+": "+p.Detail), p.Code, resp.StatusCode)
		}
		return nil, fmt.Errorf("HTTP %d from %s", resp.StatusCode, path)
	}
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			return nil, fmt.Errorf("unexpected answer from %s: %w", path, err)
		}
	}
	return raw, nil
}

func (c *opsClient) printJSON(raw []byte) {
	var buf bytes.Buffer
	if json.Indent(&buf, raw, "", "  ") != nil {
		os.Stdout.Write(raw)
		return
	}
	buf.WriteByte('\n')
	os.Stdout.Write(buf.Bytes())
}

// DeadLetter is a dead letter as the admin API lists it.
type DeadLetter struct {
	ID            int64     `json:"id"`
	Consumer      string    `json:"consumer"`
	Connector     string    `json:"connector"`
	OriginalTopic string    `json:"original_topic"`
	PropertyID    string    `json:"property_id"`
	ReservationID string    `json:"reservation_id"`
	EventType     string    `json:"event_type"`
	Reason        string    `json:"reason"`
	Error         string    `json:"error"`
	Attempts      int       `json:"attempts"`
	FirstSeenAt   time.Time `json:"first_seen_at"`
	Status        string    `json:"status"`
	ReplayCount   int       `json:"replay_count"`
}

const dlqHelp = `
Dead letters are messages a consumer gave up on: a permanent error, retries
exhausted, an unmapped partner code, or a record that could not be read. Each
keeps its reason, consumer, original topic and attempts. Fix the cause (a
mapping, a partner's setting), then replay: the message goes back to its
original topic and only the consumer that failed acts on it again.

The commands call the running hub's API with the admin key (ROOMWIRE_ADMIN_KEY).`

const dlqFilters = `
Reasons: permanent, retries_exhausted, timeout, unmapped, malformed.
Statuses: dead, replaying, replayed, resolved.`

func dlqCommand(ctx context.Context, args []string) error {
	return cli.RunSubcommand(ctx, "dlq", dlqHelp, []cli.Subcommand{
		{Name: "list", Summary: "list dead letters, newest first, with their reason and error", Run: dlqList},
		{Name: "show", Summary: "show one dead letter: error, attempts, payload, audit", Run: dlqShow},
		{Name: "replay", Summary: "send dead letters back to their topic, after fixing the cause", Run: dlqReplay},
		{Name: "purge", Summary: "delete dead letters for good", Run: dlqPurge},
		{Name: "consumers", Summary: "where every consumer's messages are: in flight, on Kafka, parked, dead-lettered", Run: dlqConsumers},
	}, args)
}

// deliveryRow is one consumer's state from GET /v1/ops/channels.
type deliveryRow struct {
	Consumer            string     `json:"consumer"`
	Connector           string     `json:"connector"`
	Breaker             string     `json:"breaker"`
	InFlight            *int64     `json:"in_flight"`
	Lag                 int64      `json:"pending"`
	Parked              int64      `json:"parked"`
	OldestParkedAt      *time.Time `json:"oldest_parked_at"`
	DeadLetters         int64      `json:"dead_letters"`
	LastDeliveredAt     *time.Time `json:"last_delivered_at"`
	LastDeliverySeconds *float64   `json:"delivery_age_seconds"`
}

func dlqConsumers(ctx context.Context, args []string) error {
	fs := cli.NewFlags("dlq consumers", "", `Shows, for every consumer of the delivery engine (the PMS, each channel's
ARI, payments, notifications, inbound application), where its messages are:
in flight in the hub, waiting on Kafka (lag), parked behind the partner's open
circuit breaker (and since when), dead-lettered; the breaker's state; and when
the partner last acknowledged a message, and how long after its commit.
Times are in UTC.`)
	client := opsFlags(fs)
	if err := cli.ParseFlags(fs, args); err != nil {
		return err
	}
	if err := cli.NoArgs(fs); err != nil {
		return err
	}
	c, err := client()
	if err != nil {
		return err
	}
	var out struct {
		Consumers []deliveryRow `json:"consumers"`
	}
	raw, err := c.call(ctx, "GET", "/v1/ops/channels", nil, &out)
	if err != nil {
		return err
	}
	if c.json {
		c.printJSON(raw)
		return nil
	}
	stamp := func(t *time.Time) string {
		if t == nil {
			return "-"
		}
		return t.UTC().Format(time.RFC3339)
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CONSUMER\tBREAKER\tIN FLIGHT\tLAG\tPARKED\tOLDEST PARKED\tDEAD\tLAST DELIVERED\tCOMMIT TO ACK")
	for _, d := range out.Consumers {
		breaker, lag, took, inFlight := d.Breaker, strconv.FormatInt(d.Lag, 10), "-", int64(0)
		if d.InFlight != nil {
			inFlight = *d.InFlight
		}
		if breaker == "" {
			breaker = "-"
		}
		if d.Lag < 0 {
			lag = "?"
		}
		if d.LastDeliverySeconds != nil {
			took = (time.Duration(*d.LastDeliverySeconds * float64(time.Second))).Round(time.Millisecond).String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%d\t%s\t%d\t%s\t%s\n", d.Consumer, breaker, inFlight, lag, d.Parked,
			stamp(d.OldestParkedAt), d.DeadLetters, stamp(d.LastDeliveredAt), took)
	}
	return tw.Flush()
}

// dlqIDs parses the positional arguments as dead-letter ids.
func dlqIDs(fs *flag.FlagSet) ([]int64, error) {
	var ids []int64
	for _, a := range fs.Args() {
		id, err := strconv.ParseInt(a, 10, 64)
		if err != nil || id <= 0 {
			return nil, cli.BadUsage(fs, "%q is not a dead-letter id; ids are the numbers in the first column of roomwire dlq list", a)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

func dlqList(ctx context.Context, args []string) error {
	fs := cli.NewFlags("dlq list", "[--topic T] [--reason R] [--status S] [--limit N]", "Lists dead letters, newest first: id, status, reason, consumer, original topic,\nproperty, reservation, attempts and the end of the error.\n"+dlqFilters)
	client := opsFlags(fs)
	topic := fs.String("topic", "", "only dead letters of this original `topic`")
	reason := fs.String("reason", "", "only dead letters with this `reason`")
	status := fs.String("status", "", "only dead letters in this `status`")
	limit := fs.Int("limit", 100, "at most this many dead letters")
	if err := cli.ParseFlags(fs, args); err != nil {
		return err
	}
	if err := cli.NoArgs(fs); err != nil {
		return err
	}
	c, err := client()
	if err != nil {
		return err
	}
	q := url.Values{}
	for k, v := range map[string]string{"topic": *topic, "reason": *reason, "status": *status, "limit": strconv.Itoa(*limit)} {
		if v != "" {
			q.Set(k, v)
		}
	}
	var page struct {
		DeadLetters []DeadLetter `json:"dead_letters"`
		NextAfter   *int64       `json:"next_after"`
	}
	raw, err := c.call(ctx, "GET", "/v1/ops/dlq?"+q.Encode(), nil, &page)
	if err != nil {
		return err
	}
	if c.json {
		c.printJSON(raw)
		return nil
	}
	if len(page.DeadLetters) == 0 {
		fmt.Println("No dead letters.")
		return nil
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATUS\tREASON\tCONSUMER\tTOPIC\tPROPERTY\tRESERVATION\tATTEMPTS\tFIRST SEEN\tERROR")
	for _, d := range page.DeadLetters {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", d.ID, d.Status, d.Reason, d.Consumer, d.OriginalTopic,
			cli.Dash(d.PropertyID), cli.Dash(d.ReservationID), d.Attempts, d.FirstSeenAt.Local().Format("2006-01-02 15:04:05"), errorTail(d.Error, 80))
	}
	tw.Flush()
	if page.NextAfter != nil {
		fmt.Printf("More: roomwire dlq list --limit %d (after id %d)\n", *limit, *page.NextAfter)
	}
	return nil
}

func dlqShow(ctx context.Context, args []string) error {
	fs := cli.NewFlags("dlq show", "ID", "Shows one dead letter as JSON: its error, attempts, headers, payload (card\nnumbers redacted) and the audit of what was done with it.")
	client := opsFlags(fs)
	if err := cli.ParseFlags(fs, args); err != nil {
		return err
	}
	ids, err := dlqIDs(fs)
	if err != nil {
		return err
	}
	if len(ids) != 1 {
		return cli.BadUsage(fs, "give one dead-letter id")
	}
	c, err := client()
	if err != nil {
		return err
	}
	raw, err := c.call(ctx, "GET", fmt.Sprintf("/v1/ops/dlq/%d", ids[0]), nil, nil)
	if err != nil {
		return err
	}
	c.printJSON(raw)
	return nil
}

func dlqReplay(ctx context.Context, args []string) error {
	fs := cli.NewFlags("dlq replay", "ID... | --all [--topic T] [--reason R]", "Sends dead letters back to their original topic; only the consumer that failed\nacts on them again. Fix the cause first (a mapping, a partner's setting).\n"+dlqFilters)
	client := opsFlags(fs)
	all := fs.Bool("all", false, "replay every dead letter that --topic and --reason select")
	topic := fs.String("topic", "", "with --all: only dead letters of this original `topic`")
	reason := fs.String("reason", "", "with --all: only dead letters with this `reason`")
	if err := cli.ParseFlags(fs, args); err != nil {
		return err
	}
	ids, err := dlqIDs(fs)
	if err != nil {
		return err
	}
	var body any
	switch {
	case *all && len(ids) > 0:
		return cli.BadUsage(fs, "give ids or --all, not both")
	case *all:
		body = map[string]any{"all": true, "topic": *topic, "reason": *reason}
	case len(ids) > 0:
		body = map[string]any{"ids": ids}
	default:
		return cli.BadUsage(fs, "name the dead letters to replay: ID... or --all [--topic T] [--reason R]")
	}
	c, err := client()
	if err != nil {
		return err
	}
	var out struct {
		Replayed []int64 `json:"replayed"`
		Count    int     `json:"count"`
	}
	raw, err := c.call(ctx, "POST", "/v1/ops/dlq/replay", body, &out)
	if err != nil {
		return err
	}
	if c.json {
		c.printJSON(raw)
		return nil
	}
	fmt.Printf("Replaying %d dead letter(s): %v\nFollow them with: roomwire dlq list --status replayed\n", out.Count, out.Replayed)
	return nil
}

func dlqPurge(ctx context.Context, args []string) error {
	fs := cli.NewFlags("dlq purge", "ID... --yes", "Deletes dead letters for good. They cannot be replayed afterwards.")
	client := opsFlags(fs)
	yes := fs.Bool("yes", false, "confirm purging: the messages are gone for good")
	if err := cli.ParseFlags(fs, args); err != nil {
		return err
	}
	ids, err := dlqIDs(fs)
	if err != nil {
		return err
	}
	if len(ids) == 0 {
		return cli.BadUsage(fs, "name the dead letters to purge: ID... --yes")
	}
	if !*yes {
		return cli.BadUsage(fs, "purging deletes %d dead letter(s) for good; add --yes to confirm", len(ids))
	}
	c, err := client()
	if err != nil {
		return err
	}
	for _, id := range ids {
		if _, err := c.call(ctx, "DELETE", fmt.Sprintf("/v1/ops/dlq/%d", id), nil, nil); err != nil {
			return fmt.Errorf("purge %d: %w", id, err)
		}
		fmt.Printf("Purged %d\n", id)
	}
	return nil
}

func timelineCommand(ctx context.Context, args []string) error {
	fs := cli.NewFlags("timeline", "RESERVATION", `
Shows every message in and out concerning a reservation, oldest first: its
events as published, and what each consumer and partner connector did with
them (processed, parked behind an open circuit breaker, failed, dead-lettered),
with attempts and the last error. It answers "did booking X reach the PMS, and
if not, why?". RESERVATION is an id or a confirmation number.`)
	client := opsFlags(fs)
	if err := cli.ParseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return cli.BadUsage(fs, "give one reservation id or confirmation number")
	}
	c, err := client()
	if err != nil {
		return err
	}
	ref := fs.Arg(0)
	// The timeline is kept by reservation id; a confirmation number is looked up first.
	var res struct {
		ID string `json:"id"`
	}
	if _, err := c.call(ctx, "GET", "/v1/reservations/"+url.PathEscape(ref), nil, &res); err != nil {
		return err
	}
	var tl struct {
		Entries []struct {
			Direction string    `json:"direction"`
			Consumer  string    `json:"consumer"`
			Connector string    `json:"connector"`
			Topic     string    `json:"topic"`
			EventType string    `json:"event_type"`
			Status    string    `json:"status"`
			Attempts  int       `json:"attempts"`
			LastError string    `json:"last_error"`
			FirstAt   time.Time `json:"first_at"`
			LastAt    time.Time `json:"last_at"`
		} `json:"entries"`
	}
	raw, err := c.call(ctx, "GET", "/v1/reservations/"+url.PathEscape(res.ID)+"/timeline", nil, &tl)
	if err != nil {
		return err
	}
	if c.json {
		c.printJSON(raw)
		return nil
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tDIR\tEVENT\tBY\tSTATUS\tATTEMPTS\tLAST ERROR")
	for _, e := range tl.Entries {
		by := e.Consumer
		if e.Connector != "" {
			by += " (" + e.Connector + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\n", e.LastAt.Local().Format("15:04:05.000"), e.Direction, cli.Dash(e.EventType), by, e.Status, e.Attempts, errorTail(e.LastError, 80))
	}
	return tw.Flush()
}

// errorTail keeps the end of a long error on one line: wrapped errors name
// the cause last (the partner's own words), and that is what an operator needs.
func errorTail(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > max {
		return "..." + s[len(s)-max+3:]
	}
	return cli.Dash(s)
}
