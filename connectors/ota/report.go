package ota

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/connectors"
)

// ResStatusNoShow is OpenTravel's reservation status (PMS_ResStatus) of a
// guest who did not come.
const ResStatusNoShow = "No-show"

// NoShowMessage is the OTA_HotelResModifyNotifRQ that tells a channel its
// booking externalID (Roomwire's confirmation reference confirmation) was a
// no-show. key is the message's EchoToken.
func NoShowMessage(externalID, confirmation, key string, at time.Time) ([]byte, error) {
	rq := ResNotifRQ{XMLName: RootResModifyNotifRQ, Version: "1.0", EchoToken: key, TimeStamp: at.UTC().Format(time.RFC3339),
		HotelResModifies: []HotelReservation{{
			ResStatus: ResStatusNoShow,
			UniqueID:  &UniqueID{Type: "14", ID: externalID},
			ResGlobalInfo: ResGlobalInfo{HotelReservationIDs: []HotelReservationID{
				{ResIDType: "14", ResIDValue: externalID}, {ResIDType: "10", ResIDValue: confirmation},
			}},
		}}}
	return Marshal(rq)
}

// reportNoShow tells the channel of a no-show of one of its bookings, as
// OTA_HotelResModifyNotifRQ with ResStatus No-show, when the channel takes
// such reports (report_url is set). Once per no-show: a receipt keyed like
// the message's EchoToken and Idempotency-Key remembers it.
func (c *Connector) reportNoShow(ctx context.Context, e canonical.Event) error {
	r := e.Reservation
	if c.cfg.ReportURL == "" || r == nil || r.Channel != c.cfg.Channel || r.ExternalID == "" ||
		e.Transition == nil || e.Transition.To != canonical.StatusNoShow {
		return nil
	}
	key := fmt.Sprintf("roomwire-%s-v%d-no_show", r.ID, r.Version)
	return connectors.SendOnce(ctx, c.Res.Receipts, c.Name(), key, func() error {
		body, err := NoShowMessage(r.ExternalID, r.ConfirmationNumber, key, e.OccurredAt)
		if err != nil {
			return connectors.Permanent(err)
		}
		h := http.Header{}
		h.Set(connectors.IdempotencyHeader, key)
		h.Set("Accept", "text/xml")
		if c.cfg.ARIUser != "" {
			h.Set("Authorization", BasicAuth(c.cfg.ARIUser, c.cfg.ARIPassword))
		}
		resp, err := c.Client.Do(ctx, connectors.Request{Method: http.MethodPost, URL: c.cfg.ReportURL, Route: "/" + RootResModifyNotifRQ.Local,
			Header: h, Body: body, ContentType: "text/xml; charset=utf-8"})
		if err == nil {
			err = ParseRS(resp.Body)
		}
		if err != nil {
			return fmt.Errorf("ota: report the no-show of %s (%s): %w", connectors.SafeText(r.ExternalID, 40), r.ID, err)
		}
		c.Logger.InfoContext(ctx, "reported a no-show to the channel", "reservation_id", r.ID,
			"channel_reservation", connectors.SafeText(r.ExternalID, 40), "correlation_id", canonical.CorrelationID(ctx))
		return nil
	})
}
