package bookingcom

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/connectors"
	"github.com/roomwire/roomwire/connectors/ota"
)

// The reports of Booking.com's Reporting API that Roomwire sends.
const (
	ReportNoShow      = "is_no_show"
	ReportInvalidCard = "cc_is_invalid"
)

// ReportRequest is the body of POST /hotels/xml/reporting.
type ReportRequest struct {
	XMLName       xml.Name `xml:"request"`
	ReservationID string   `xml:"reservation_id"`
	Report        Report   `xml:"report"`
}

// Report is the kind of report; WaivedFees goes with is_no_show only.
type Report struct {
	Kind       string `xml:",chardata"`
	WaivedFees string `xml:"waived_fees,attr,omitempty"` // yes or no
}

// ReportFault is the Reporting API's refusal:
// <reporting><fault code="400"><string>...</string></fault></reporting>.
type ReportFault struct {
	XMLName xml.Name `xml:"reporting"`
	Fault   struct {
		Code   string `xml:"code,attr"`
		String string `xml:"string"`
	} `xml:"fault"`
}

// handleReservationEvent reports to Booking.com what happened to one of its
// bookings: a no-show (the transition to no_show), and a card the payment
// gateway declined (the payment_declined flag), so that Booking.com waives
// its commission and asks the guest for another card. Each report is sent
// once: a receipt keyed like its Idempotency-Key remembers it, and a repeat
// Booking.com refuses as already reported counts as sent.
func (c *Connector) handleReservationEvent(ctx context.Context, e canonical.Event) error {
	r := e.Reservation
	if r == nil || r.Channel != c.Name() || r.ExternalID == "" {
		return nil // not a Booking.com booking
	}
	if t := e.Transition; t != nil && t.To == canonical.StatusNoShow {
		key := fmt.Sprintf("roomwire-%s-v%d-%s", r.ID, r.Version, ReportNoShow)
		if err := c.report(ctx, r, key, Report{Kind: ReportNoShow, WaivedFees: "no"}); err != nil {
			return err
		}
	}
	if r.HasFlag(canonical.FlagPaymentDeclined) && r.Status == canonical.StatusConfirmed && r.Guarantee != nil {
		// Once per card: a new card the gateway declines again is reported again.
		h := sha256.Sum256([]byte(r.Guarantee.CardToken + "\x00" + r.Guarantee.CardMask))
		key := fmt.Sprintf("roomwire-%s-%s-%s", r.ID, ReportInvalidCard, hex.EncodeToString(h[:6]))
		if err := c.report(ctx, r, key, Report{Kind: ReportInvalidCard}); err != nil {
			return err
		}
	}
	return nil
}

// report sends one report unless its receipt says it was sent.
func (c *Connector) report(ctx context.Context, r *canonical.Reservation, key string, rep Report) error {
	return connectors.SendOnce(ctx, c.Res.Receipts, c.Name(), key, func() error {
		body, err := xml.Marshal(ReportRequest{ReservationID: r.ExternalID, Report: rep})
		if err != nil {
			return connectors.Permanent(err)
		}
		h := http.Header{}
		h.Set("Authorization", ota.BasicAuth(c.cfg.Username, c.cfg.Password))
		h.Set(connectors.IdempotencyHeader, key)
		_, err = c.Client.Do(ctx, connectors.Request{Method: http.MethodPost, URL: c.cfg.APIURL + "/hotels/xml/reporting",
			Route: "/hotels/xml/reporting", Header: h, Body: append([]byte(xml.Header), body...), ContentType: "application/xml"})
		var he *connectors.HTTPError
		if errors.As(err, &he) && he.Status == http.StatusBadRequest && strings.Contains(strings.ToLower(he.Message), "already") {
			err = nil // reported before: a redelivery after a lost answer
		}
		if err != nil {
			return fmt.Errorf("bookingcom: report %s of reservation %s (%s): %w", rep.Kind, connectors.SafeText(r.ExternalID, 40), r.ID, err)
		}
		c.Logger.InfoContext(ctx, "reported to Booking.com", "report", rep.Kind, "reservation_id", r.ID,
			"bookingcom_reservation", connectors.SafeText(r.ExternalID, 40), "correlation_id", canonical.CorrelationID(ctx))
		return nil
	})
}

// describeReportFault reads the Reporting API's fault body.
func describeReportFault(body []byte) string {
	var f ReportFault
	if err := xml.Unmarshal(body, &f); err != nil || f.Fault.String == "" {
		return ""
	}
	return strings.Trim(strings.TrimSpace(f.Fault.String), `"`)
}
