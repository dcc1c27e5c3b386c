package notify

import (
	"net/http"
	"testing"
	"time"

	"github.com/roomwire/roomwire/canonical"
)

func TestCheckURL(t *testing.T) {
	strict := TargetPolicy{}
	open := TargetPolicy{AllowPrivate: true, AllowHTTP: true}
	for _, c := range []struct {
		url          string
		strict, open bool
	}{
		{"https://hooks.example.com/roomwire", true, true},
		{"http://hooks.example.com/roomwire", false, true},
		{"https://127.0.0.1:8443/x", false, true},
		{"https://localhost/x", false, true},
		{"https://10.1.2.3/x", false, true},
		{"https://192.168.0.10/x", false, true},
		{"https://169.254.169.254/latest/meta-data", false, true},
		{"https://[::1]/x", false, true},
		{"https://[fd00::1]/x", false, true},
		{"https://0.0.0.0/x", false, false},
		{"ftp://hooks.example.com/", false, false},
		{"https://user:pw@hooks.example.com/", false, false},
		{"/relative", false, false},
	} {
		if got := strict.CheckURL(c.url) == nil; got != c.strict {
			t.Errorf("strict %s: allowed %v, want %v", c.url, got, c.strict)
		}
		if got := open.CheckURL(c.url) == nil; got != c.open {
			t.Errorf("open %s: allowed %v, want %v", c.url, got, c.open)
		}
	}
}

// The example of the Standard Webhooks specification.
func TestSignatureMatchesSpecExample(t *testing.T) {
	secret := "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	ts := time.Unix(1614265330, 0)
	body := []byte(`{"test": 2432232314}`)
	sig, err := Sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", ts, body)
	if err != nil {
		t.Fatal(err)
	}
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; sig != want {
		t.Fatalf("signature %s, want %s", sig, want)
	}
	h := http.Header{}
	h.Set(HeaderWebhookID, "msg_p5jXN8AQM9LWM0D4loKWxJek")
	h.Set(HeaderWebhookTimestamp, "1614265330")
	h.Set(HeaderWebhookSignature, "v1,bm9wZQ== "+sig)
	if err := Verify(secret, h, body, 5*time.Minute, ts.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if Verify(secret, h, []byte(`{"test": 2432232315}`), 5*time.Minute, ts) == nil {
		t.Fatal("a changed body verified")
	}
	if Verify(secret, h, body, 5*time.Minute, ts.Add(time.Hour)) == nil {
		t.Fatal("an old timestamp verified")
	}
}

func TestBuiltinTemplatesRender(t *testing.T) {
	for _, lang := range Languages() {
		for _, kind := range Kinds {
			tpl, ok := builtin(kind, lang)
			if !ok {
				t.Fatalf("no built-in %s/%s", kind, lang)
			}
			r, err := tpl.render(sampleData(kind, lang))
			if err != nil || r.Subject == "" || r.Text == "" || r.HTML == "" {
				t.Fatalf("%s/%s: %v %+v", kind, lang, err, r)
			}
		}
	}
}

func TestWhoIsToldOfWhat(t *testing.T) {
	checkIn := &canonical.Transition{From: canonical.StatusConfirmed, To: canonical.StatusCheckedIn}
	cancel := &canonical.Transition{From: canonical.StatusConfirmed, To: canonical.StatusCancelled}
	for _, tt := range []struct {
		e            canonical.Event
		guest, hotel string
	}{
		{canonical.Event{Type: canonical.EventReservationCreated}, KindGuestConfirmation, "created"},
		{canonical.Event{Type: canonical.EventReservationModified}, KindGuestModification, "changed"},
		{canonical.Event{Type: canonical.EventReservationModified, Transition: checkIn}, "", ""},
		{canonical.Event{Type: canonical.EventReservationCancelled, Transition: cancel}, KindGuestCancellation, "ended"},
		{canonical.Event{Type: canonical.EventReservationOverbooked}, "", ""},
	} {
		if g, h := guestKind(tt.e), hotelEvent(tt.e); g != tt.guest || h != tt.hotel {
			t.Errorf("%s (transition %v): guest %q hotel %q, want %q %q", tt.e.Type, tt.e.Transition, g, h, tt.guest, tt.hotel)
		}
	}
}
