package payments

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/connectors"
	"github.com/roomwire/roomwire/reservations"
)

// Run runs the hold-expiry check every CheckInterval until ctx ends, and
// returns nil then. Any number of processes may run it: the payments'
// version column keeps two of them from renewing one hold twice, and the
// renewal's idempotency key keeps the gateway from holding twice.
func (s *Service) Run(ctx context.Context) error {
	t := time.NewTicker(s.cfg.CheckInterval)
	defer t.Stop()
	for {
		if n, err := s.CheckHolds(ctx); err != nil && ctx.Err() == nil {
			s.logger.ErrorContext(ctx, "hold-expiry check failed", "error", connectors.SafeText(err.Error(), 300))
		} else if n > 0 {
			s.logger.InfoContext(ctx, "hold-expiry check", "renewed_or_flagged", n)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// CheckHolds renews every authorized hold expiring within RenewBefore, and
// flags the reservations whose hold cannot be renewed. It returns how many
// holds it renewed or flagged.
func (s *Service) CheckHolds(ctx context.Context) (int, error) {
	now := s.cfg.Now()
	ids, err := s.store.ExpiringHolds(ctx, now.Add(s.cfg.RenewBefore), 500)
	if err != nil {
		return 0, fmt.Errorf("payments: %w", err)
	}
	done := 0
	var errs []error
	for _, id := range ids {
		if ctx.Err() != nil {
			break
		}
		changed, err := s.renew(ctx, id)
		if err != nil {
			errs = append(errs, err)
		}
		if changed {
			done++
		}
	}
	return done, errors.Join(errs...)
}

// renew renews one hold. A gateway that can adjust extends the hold in
// place; otherwise (or once the hold has lapsed) a new hold is placed on the
// reservation's card and the old one voided. A refusal flags the
// reservation; a lapsed hold that cannot be replaced becomes expired.
func (s *Service) renew(ctx context.Context, reservationID string) (bool, error) {
	st, err := s.store.PaymentState(ctx, reservationID)
	if err != nil || st == nil || st.Status != canonical.PaymentAuthorized || st.HoldExpiresAt == nil {
		return false, err
	}
	g, ok := s.gateway(st.Gateway)
	if !ok {
		return false, fmt.Errorf("payments: reservation %s is held at gateway %q, which this process has not configured", reservationID, st.Gateway)
	}
	r, err := s.store.Get(ctx, reservations.AllProperties, reservationID)
	if err != nil {
		return false, fmt.Errorf("payments: renew %s: %w", reservationID, err)
	}
	if r.Status.Final() {
		return false, nil // the next reservation event settles it
	}
	now := s.cfg.Now()
	lapsed := !st.HoldExpiresAt.After(now)
	req := Request{
		IdempotencyKey:     renewKey(reservationID, *st.HoldExpiresAt),
		Reference:          st.Reference,
		ReservationID:      reservationID,
		ConfirmationNumber: r.ConfirmationNumber,
		PropertyID:         st.PropertyID,
		Amount:             canonical.NewMoney(st.Authorized, st.Currency),
	}
	var res Result
	if g.Features().Adjust && !lapsed {
		res, err = g.Adjust(ctx, req)
	} else {
		req.Reference, req.CardToken = "", cardToken(r)
		if req.CardToken == "" {
			err = connectors.Permanent(errors.New("the reservation no longer has a card to hold"))
		} else {
			res, err = g.Authorize(ctx, req)
		}
	}
	o := outcome{op: canonical.PaymentRenew, req: req, res: res, cause: "hold-expiry check", token: cardToken(r),
		mask: r.Guarantee, due: -1, confirmation: r.ConfirmationNumber, reason: "hold renewed before it expires"}
	if err != nil && !IsDecline(err) {
		if connectors.ClassOf(err) != connectors.ClassPermanent {
			return false, fmt.Errorf("payments: renew %s: %w", reservationID, err)
		}
		// The gateway will not renew (and says so): treat it as refused,
		// so that a person secures the booking some other way.
		err = &DeclineError{Gateway: g.Name(), Code: "renewal_refused", Reason: connectors.SafeText(err.Error(), 200)}
	}
	o.err = err
	if err == nil && req.Reference == "" && res.Reference != st.Reference {
		s.releaseOld(ctx, g, st, req.IdempotencyKey)
	}
	if rerr := s.record(ctx, st, newState(st, reservationID, st.PropertyID, st.Gateway), o); rerr != nil {
		if errors.Is(rerr, reservations.ErrPaymentChanged) {
			return false, nil // another worker got there first
		}
		return false, rerr
	}
	if err != nil {
		return true, s.syncFlag(ctx, reservationID, true)
	}
	if st.Declined {
		return true, s.syncFlag(ctx, reservationID, false)
	}
	return true, nil
}
