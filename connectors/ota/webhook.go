package ota

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/connectors"
)

// Webhook returns the receiver of the partner's OTA_HotelResNotifRQ pushes,
// served with POST at / and /reservations below the connector's prefix
// (/v1/connectors/ota/reservations). It authenticates the partner, reads every
// reservation of the message (a message with one bad reservation is refused
// whole), hands them to the sink and answers OTA_HotelResNotifRS Success with
// Roomwire's confirmation reference (HotelReservationID ResID_Type 10) only
// once the sink has them all.
//
// Every refusal is an OTA_HotelResNotifRS with Errors (Type, Code and a
// text). HTTP status: 200 for a message refused for what it says (the
// partner must fix it, not resend it), 401 for bad credentials, 413 for an
// oversized body, 503 with Retry-After when Roomwire cannot make the message
// durable now (the partner should resend). A reservation naming unmapped
// codes is delivered all the same, so it waits in quarantine (the dead-letter
// topic) until the mapping exists, and answered with an error naming the code.
func (c *Connector) Webhook(sink connectors.Sink) http.Handler {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", "POST")
			writeErrors(w, http.StatusMethodNotAllowed, "", ErrTypeProtocol, CodeUnableToProcess, "send OTA_HotelResNotifRQ with POST")
			return
		}
		if c.cfg.Auth == AuthBasic && !c.basicAuthorized(r) {
			w.Header().Set("WWW-Authenticate", `Basic realm="roomwire ota"`)
			writeErrors(w, http.StatusUnauthorized, "", ErrTypeAuthentication, CodeAuthorization, "missing or wrong basic-auth credentials")
			return
		}
		data, err := connectors.ReadLimited(http.MaxBytesReader(w, r.Body, connectors.MaxMessageBytes+1), connectors.MaxMessageBytes)
		if err != nil {
			writeErrors(w, http.StatusRequestEntityTooLarge, "", ErrTypeProtocol, CodeUnableToProcess, connectors.SafeText(err.Error(), 200))
			return
		}
		ctx := r.Context()
		if id := r.Header.Get(connectors.CorrelationHeader); canonical.ValidCorrelationID(id) {
			ctx = canonical.WithCorrelationID(ctx, id)
		}
		status, rs := c.HandleResNotif(ctx, data, sink)
		if status == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", "30")
		}
		if status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Basic realm="roomwire ota"`)
		}
		writeRS(w, status, rs)
	})
	mux := http.NewServeMux()
	mux.Handle("/", h)
	mux.Handle("/reservations", h)
	return mux
}

func (c *Connector) basicAuthorized(r *http.Request) bool {
	return connectors.BasicAuthorized(r, c.cfg.InboundUser, c.cfg.InboundPassword)
}

// posAuthorized checks the RequestorID of the message's POS.
func (c *Connector) posAuthorized(rq *ResNotifRQ) bool {
	if rq.POS == nil {
		return false
	}
	for _, s := range rq.POS.Sources {
		if id := s.RequestorID; id != nil && connectors.SecretEqual(id.ID, c.cfg.InboundUser) && connectors.SecretEqual(id.MessagePassword, c.cfg.InboundPassword) {
			return true
		}
	}
	return false
}

// HandleResNotif processes one OTA_HotelResNotifRQ body (already
// authenticated by HTTP basic auth when that is the scheme) and returns the
// HTTP status and reply.
func (c *Connector) HandleResNotif(ctx context.Context, data []byte, sink connectors.Sink) (int, *ResNotifRS) {
	rq, err := ParseResNotif(data)
	if err != nil {
		return c.refuse(ctx, "", err)
	}
	if canonical.CorrelationID(ctx) == "" && canonical.ValidCorrelationID(rq.EchoToken) {
		ctx = canonical.WithCorrelationID(ctx, rq.EchoToken)
	}
	if c.cfg.Auth == AuthPOS && !c.posAuthorized(rq) {
		return http.StatusUnauthorized, errorRS(rq.EchoToken, ErrTypeAuthentication, CodeAuthorization, "missing or wrong RequestorID ID and MessagePassword in POS")
	}
	bookings, err := c.reader.Bookings(rq)
	if err != nil {
		return c.refuse(ctx, rq.EchoToken, err)
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	// Everything that can be known now is checked for every reservation
	// before any is delivered: the message is taken whole or not at all,
	// and never answered Success for what would be dead-lettered.
	unmappedOf := make([]error, len(bookings))
	for i := range bookings {
		unmapped := connectors.CheckMapped(ctx, c.Res, c.Name(), bookings[i])
		if connectors.IsRetryable(unmapped) {
			return c.refuse(ctx, rq.EchoToken, unmapped)
		}
		unmappedOf[i] = unmapped
		if err := connectors.CheckApplicable(ctx, c.Res, c.Name(), bookings[i]); err != nil {
			return c.refuse(ctx, rq.EchoToken, err)
		}
	}
	var quarantined []error
	for i := range bookings {
		b := &bookings[i]
		b.ReceivedAt = now
		unmapped := unmappedOf[i]
		if err := sink.Deliver(ctx, *b); err != nil {
			return c.refuse(ctx, rq.EchoToken, fmt.Errorf("ota: deliver reservation %s: %w", connectors.SafeText(b.Reservation.ExternalID, 40), err))
		}
		if err := connectors.RecordAccepted(ctx, c.Res, c.Name(), *b); err != nil {
			return c.refuse(ctx, rq.EchoToken, err)
		}
		if unmapped != nil {
			quarantined = append(quarantined, unmapped)
			c.Logger.WarnContext(ctx, "reservation quarantined: unmapped codes", "channel_reservation", b.Reservation.ExternalID,
				"hotel", b.Reservation.PropertyID, "error", unmapped.Error(), "correlation_id", canonical.CorrelationID(ctx))
			continue
		}
		c.Logger.InfoContext(ctx, "received reservation", "channel_reservation", b.Reservation.ExternalID,
			"hotel", b.Reservation.PropertyID, "action", string(b.Action), "correlation_id", canonical.CorrelationID(ctx))
	}
	if len(quarantined) > 0 {
		err := quarantined[0]
		typ, code := ErrorFor(err)
		return http.StatusOK, errorRS(rq.EchoToken, typ, code, connectors.SafeText(err.Error(), 400)+" (the reservation is held and will be applied once the mapping exists)")
	}
	rs := &ResNotifRS{XMLName: RootResNotifRS, Version: "1.0", EchoToken: rq.EchoToken, TimeStamp: now.Format(time.RFC3339), Success: &struct{}{}}
	if rq.XMLName.Local == RootResModifyNotifRQ.Local {
		rs.XMLName = RootResModifyNotifRS
	}
	for _, b := range bookings {
		ids := ReservationRS{UniqueID: &UniqueID{Type: "14", ID: b.Reservation.ExternalID},
			HotelReservationIDs: []HotelReservationID{
				{ResIDType: "14", ResIDValue: b.Reservation.ExternalID},
				{ResIDType: "10", ResIDValue: connectors.ConfirmationReference(c.Name(), b.Reservation.PropertyID, b.Reservation.ExternalID)},
			}}
		if rs.XMLName == RootResModifyNotifRS {
			rs.HotelResModifies = append(rs.HotelResModifies, ids)
		} else {
			rs.HotelReservations = append(rs.HotelReservations, ids)
		}
	}
	return http.StatusOK, rs
}

// refuse logs a refusal and builds its reply: 503 for what a retry may cure.
func (c *Connector) refuse(ctx context.Context, echo string, err error) (int, *ResNotifRS) {
	typ, code := ErrorFor(err)
	status := http.StatusOK
	if connectors.IsRetryable(err) && !errors.As(err, new(*InputError)) {
		status = http.StatusServiceUnavailable
	}
	c.Logger.WarnContext(ctx, "OTA_HotelResNotifRQ refused", "status", status, "ota_error_code", code,
		"error", connectors.SafeText(err.Error(), 300), "correlation_id", canonical.CorrelationID(ctx))
	text := connectors.SafeText(err.Error(), 400)
	if status == http.StatusServiceUnavailable {
		text = "Roomwire cannot take the message now; send it again later"
	}
	return status, errorRS(echo, typ, code, text)
}

func errorRS(echo, typ, code, text string) *ResNotifRS {
	return &ResNotifRS{XMLName: RootResNotifRS, Version: "1.0", EchoToken: echo, TimeStamp: time.Now().UTC().Format(time.RFC3339),
		Errors: []Error{{Type: typ, Code: code, Text: text}}}
}

func writeErrors(w http.ResponseWriter, status int, echo, typ, code, text string) {
	writeRS(w, status, errorRS(echo, typ, code, text))
}

func writeRS(w http.ResponseWriter, status int, rs *ResNotifRS) {
	b, err := Marshal(rs)
	if err != nil {
		http.Error(w, "could not render the reply", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(status)
	w.Write(b) //nolint:errcheck
}
