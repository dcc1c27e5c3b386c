package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// browser starts headless Chromium (Debian's chromium package) with a fresh
// profile and returns a context that drives one tab of it.
func browser(t *testing.T) context.Context {
	t.Helper()
	path := ""
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		path = requireTool(t, "chromium", "chromium")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1400, 1000),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	t.Cleanup(func() { cancelTab(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting %s: %v", path, err)
	}
	return ctx
}

// until waits for a JavaScript expression to be true in the page.
func until(expr string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := chromedp.Poll[bool](expr, chromedp.WithPollingInterval(100*time.Millisecond))(ctx, t)
		return chromedp.Void{}, err
	}
}

// read returns what a browser action answers, failing the test if it cannot.
func read[T any](t *testing.T, tab context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// screenshot saves the page as dir/name.png when ROOMWIRE_CONSOLE_SCREENSHOTS
// names a directory, to look at the console as an operator sees it.
func screenshot(t *testing.T, tab context.Context, name string) {
	t.Helper()
	dir := os.Getenv("ROOMWIRE_CONSOLE_SCREENSHOTS")
	if dir == "" {
		return
	}
	png := read(t, tab, "screenshot", chromedp.FullScreenshot(100))
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// drive runs browser actions, failing the test with what the page shows when
// they do not complete within a generous deadline.
func drive(t *testing.T, tab context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		tctx, tcancel := context.WithTimeout(tab, 5*time.Second)
		defer tcancel()
		text, _ := chromedp.Run(tctx, chromedp.Evaluate[string](`location.href + "\n" + document.body.innerText`))
		t.Fatalf("%s: %v\nthe page shows:\n%s", what, err, text)
	}
}

// An operator signs in to the console with the admin key, finds the dead
// letter of a booking whose hotel was not mapped, replays it after the
// mapping is fixed, and sees it resolved; the booking's timeline, the
// channels and the analytics pages show it too.
func TestConsoleReplaysADeadLetterInABrowser(t *testing.T) {
	ctx := browser(t)
	p, _ := serveWithUnmappedOTABooking(t)
	base := "http://" + p.addr

	// The console loads without a key, from this server alone.
	resp, err := http.Get(base + "/console/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), "<title>Roomwire console</title>") ||
		!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || strings.Contains(string(page), "://") {
		t.Fatalf("/console/: %d %s\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), page)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Fatalf("/console/ has no strict content security policy: %q", csp)
	}

	var id string
	eventually(t, "the booking is dead-lettered as unmapped", func() bool {
		_, body := p.json(t, "GET", "/v1/ops/dlq?reason=unmapped&status=dead", "")
		letters, _ := body["dead_letters"].([]any)
		if len(letters) == 0 {
			return false
		}
		id = fmt.Sprint(letters[0].(map[string]any)["id"])
		return true
	})
	mapOTAHotel(t, p)

	// A wrong key is refused and not kept.
	drive(t, ctx, "a wrong key",
		chromedp.Navigate(base+"/console/"),
		chromedp.WaitVisible(chromedp.CSS("#key")),
		chromedp.SendKeys(chromedp.CSS("#key"), "not-a-key"),
		chromedp.Click(chromedp.CSS("#signin")),
		until(`document.querySelector('#login-error').textContent.includes('refused')`))
	if kept := read(t, ctx, "session storage", chromedp.Evaluate[string](`sessionStorage.getItem('roomwire.apiKey') || ''`)); kept != "" {
		t.Fatalf("a refused key was kept: %q", kept)
	}

	// Sign in, find the dead letter, replay it with confirmation.
	row := `#dlq-table tr[data-id="` + id + `"] a.inspect`
	drive(t, ctx, "signing in and opening the dead letter",
		chromedp.SendKeys(chromedp.CSS("#key"), testAdminKey),
		chromedp.Click(chromedp.CSS("#signin")),
		chromedp.WaitVisible(chromedp.CSS(row)),
		chromedp.Click(chromedp.CSS(row)),
		chromedp.WaitVisible(chromedp.CSS("#replay")))
	stored := read(t, ctx, "session storage", chromedp.Evaluate[string](`sessionStorage.getItem('roomwire.apiKey') || ''`))
	persisted := read(t, ctx, "other storage", chromedp.Evaluate[string](`JSON.stringify(localStorage) + document.cookie`))
	if stored != testAdminKey || strings.Contains(persisted, testAdminKey) {
		t.Fatalf("the key is kept in session storage only: session %q, elsewhere %q", stored, persisted)
	}
	screenshot(t, ctx, "dead-letter")
	errorText := read(t, ctx, "the error", chromedp.Text(chromedp.CSS("#dl-error")))
	payload := read(t, ctx, "the payload", chromedp.Text(chromedp.CSS("#dl-payload")))
	if !strings.Contains(errorText, "HTL-LIS-01") || payload == "" {
		t.Fatalf("dead letter page: error %q, payload %q", errorText, payload)
	}
	drive(t, ctx, "replaying and seeing it resolved",
		chromedp.Click(chromedp.CSS("#replay")),
		chromedp.WaitVisible(chromedp.CSS("#confirm")),
		chromedp.Click(chromedp.CSS("#confirm")),
		until(`document.querySelector('#dl-status') && document.querySelector('#dl-status').textContent === 'resolved'`),
		until(`document.querySelector('#dl-audit').textContent.includes('replay') && document.querySelector('#dl-audit').textContent.includes('admin')`))
	screenshot(t, ctx, "dead-letter-resolved")

	// The replayed booking is stored; its timeline shows every hop with zones.
	_, body := p.json(t, "GET", "/v1/reservations?channel=testota", "")
	items, _ := body["items"].([]any)
	if len(items) != 1 {
		t.Fatalf("after the replay: %v", body)
	}
	ref := items[0].(map[string]any)["confirmation_number"].(string)
	drive(t, ctx, "the timeline",
		chromedp.Navigate(base+"/console/#timeline/"+ref),
		until(`document.querySelector('#timeline-table') && document.querySelector('#timeline-table').textContent.includes('inbound.ota')`))
	screenshot(t, ctx, "timeline")
	if hops := read(t, ctx, "the timeline", chromedp.Text(chromedp.CSS("#timeline-table"))); !strings.Contains(hops, "(UTC") || !strings.Contains(hops, "processed") {
		t.Fatalf("timeline shows no zones or statuses:\n%s", hops)
	}

	// Channel health lists the consumer; analytics counts the booking.
	drive(t, ctx, "channels and analytics",
		chromedp.Navigate(base+"/console/#channels"),
		chromedp.WaitVisible(chromedp.CSS(`#channels-table tr[data-consumer="inbound.ota"]`)))
	screenshot(t, ctx, "channels")
	drive(t, ctx, "analytics",
		chromedp.Navigate(base+"/console/#analytics?property=LIS&from=2026-01-01&to=2027-12-31&group_by=channel"),
		chromedp.WaitVisible(chromedp.CSS("#analytics-chart")))
	screenshot(t, ctx, "analytics")
	if rooms := read(t, ctx, "rooms sold", chromedp.Text(chromedp.CSS("#a-rooms"))); strings.HasPrefix(rooms, "0 /") {
		t.Fatalf("analytics count no room sold: %q", rooms)
	}

	drive(t, ctx, "reservations to resolve",
		chromedp.Navigate(base+"/console/#attention"),
		until(`document.querySelector('#attention-table') && document.querySelector('#attention-table').textContent.includes('Nothing to resolve')`))

	// A key scoped to another hotel sees neither this booking nor the
	// operators' pages.
	code, created := p.json(t, "POST", "/v1/api-keys", `{"name": "porto desk", "properties": ["OPO"]}`)
	if code != 201 {
		t.Fatalf("create key: %d %v", code, created)
	}
	drive(t, ctx, "signing in with a scoped key",
		chromedp.Click(chromedp.CSS("#signout")),
		chromedp.WaitVisible(chromedp.CSS("#key")),
		chromedp.SendKeys(chromedp.CSS("#key"), created["key"].(string)),
		chromedp.Click(chromedp.CSS("#signin")),
		until(`document.querySelector('#page-error') && document.querySelector('#page-error').textContent.includes('admin key')`),
		chromedp.Navigate(base+"/#timeline/"+ref),
		until(`document.querySelector('#page-error') && document.querySelector('#page-error').textContent.includes('not found')`))
}
