package payments

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/config/spec"
	"github.com/roomwire/roomwire/connectors"
	"github.com/roomwire/roomwire/reservations"
)

// Config configures the payment flow. Its tags are its configuration spec
// (package config/spec): the keys of the payments section of the
// configuration file. A gateway is named by its connector.
type Config struct {
	DefaultGateway string            `yaml:"default_gateway" doc:"the payments connector of every property not named in properties, e.g. stripe"`
	Properties     map[string]string `yaml:"properties" doc:"property id: gateway, for properties that use another one"`
	RenewBefore    time.Duration     `yaml:"renew_before" default:"48h" doc:"card holds expiring sooner than this are renewed"`
	CheckInterval  time.Duration     `yaml:"check_interval" default:"1h" doc:"how often the hold-expiry check runs"`

	// Now is the clock (tests set it); default time.Now.
	Now func() time.Time `yaml:"-"`
}

func (c *Config) setDefaults() {
	spec.SetDefaults(c, nil)
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Validate names every problem with the configuration.
func (c Config) Validate() error {
	var errs []string
	if c.DefaultGateway == "" && len(c.Properties) == 0 {
		errs = append(errs, "default_gateway: is required unless properties name a gateway for each property")
	}
	if c.RenewBefore < 0 {
		errs = append(errs, "renew_before: must not be negative")
	}
	if c.CheckInterval < time.Second {
		errs = append(errs, "check_interval: must be at least 1s")
	}
	for p, g := range c.Properties {
		if g == "" {
			errs = append(errs, fmt.Sprintf("properties.%s: names no gateway", p))
		}
	}
	if len(errs) > 0 {
		sort.Strings(errs)
		return errors.New("payments: " + strings.Join(errs, "; "))
	}
	return nil
}

// Service is the payment flow: it acts on reservation events, runs the
// hold-expiry check and stores gateways' notifications. It keeps no state in
// memory that another process needs.
type Service struct {
	cfg    Config
	store  *reservations.Store
	logger *slog.Logger

	mu       sync.RWMutex
	gateways map[string]Gateway
}

// New returns the payment flow on the reservation store, which keeps each
// payment's state, its transitions and the gateways' notifications.
func New(cfg Config, store *reservations.Store, logger *slog.Logger) (*Service, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if store == nil {
		return nil, errors.New("payments: a reservation store is required")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Service{cfg: cfg, store: store, logger: logger.With("component", "payments"),
		gateways: map[string]Gateway{}}, nil
}

// attacher is implemented by gateways embedding Binding.
type attacher interface{ Attach(*Service) }

// AddGateway makes g available to the properties configured for it, and
// attaches the flow to g when g embeds a Binding (so that its HandleEvent and
// webhook work).
func (s *Service) AddGateway(g Gateway) error {
	s.mu.Lock()
	if _, dup := s.gateways[g.Name()]; dup {
		s.mu.Unlock()
		return fmt.Errorf("payments: gateway %s added twice", g.Name())
	}
	s.gateways[g.Name()] = g
	s.mu.Unlock()
	if a, ok := g.(attacher); ok {
		a.Attach(s)
	}
	return nil
}

// CheckGateways reports the configured gateways (the default and each
// property's) that were not added: call it once every gateway is added, so
// that a typo fails at start rather than leaving properties unsecured.
func (s *Service) CheckGateways() error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var missing []string
	if _, ok := s.gateways[s.cfg.DefaultGateway]; s.cfg.DefaultGateway != "" && !ok {
		missing = append(missing, "default_gateway: "+s.cfg.DefaultGateway)
	}
	for p, g := range s.cfg.Properties {
		if _, ok := s.gateways[g]; !ok {
			missing = append(missing, "properties."+p+": "+g)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	sort.Strings(missing)
	return fmt.Errorf("payments: gateways configured but not available (is the connector configured?): %s", strings.Join(missing, "; "))
}

// GatewayFor returns the name of the gateway a property's payments use.
func (s *Service) GatewayFor(propertyID string) string {
	if g, ok := s.cfg.Properties[propertyID]; ok {
		return g
	}
	return s.cfg.DefaultGateway
}

func (s *Service) gateway(name string) (Gateway, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	g, ok := s.gateways[name]
	return g, ok
}

// HandleEvent acts on a reservation event with whichever gateway its
// property uses. Other events are ignored.
func (s *Service) HandleEvent(ctx context.Context, e canonical.Event) error {
	return s.handle(ctx, "", e)
}

// HandleEventFor acts on a reservation event only if its property uses the
// gateway called gateway: each gateway connector has its own consumer (and
// circuit breaker), and skips the others' properties.
func (s *Service) HandleEventFor(ctx context.Context, gateway string, e canonical.Event) error {
	return s.handle(ctx, gateway, e)
}

// maxSteps bounds the operations one event can cause (authorize and capture
// at booking is the longest plan, re-authorize and capture the next).
const maxSteps = 6

func (s *Service) handle(ctx context.Context, only string, e canonical.Event) error {
	if !e.Type.IsReservation() || e.Reservation == nil {
		return nil
	}
	r := e.Reservation
	name := s.GatewayFor(r.PropertyID)
	if name == "" || (only != "" && name != only) {
		return nil
	}
	st, err := s.store.PaymentState(ctx, r.ID)
	if err != nil {
		return err
	}
	if st == nil && cardToken(r) == "" {
		return nil // not guaranteed by card, and never was
	}
	if st != nil && st.Gateway != name {
		// A payment stays with the gateway that holds it, even if the
		// property's configuration changed since.
		name = st.Gateway
	}
	g, ok := s.gateway(name)
	if !ok {
		return connectors.Permanent(fmt.Errorf("payments: property %s uses gateway %q, which this process has not configured", r.PropertyID, name))
	}
	in, err := s.intentOf(ctx, e, g)
	if err != nil {
		return err
	}
	for i := 0; i < maxSteps; i++ {
		if i > 0 {
			if st, err = s.store.PaymentState(ctx, r.ID); err != nil {
				return err
			}
		}
		stp, ok := next(st, in)
		if !ok {
			return s.settle(ctx, st, in)
		}
		err := s.execute(ctx, g, st, stp, in, e.ID, e.CorrelationID)
		switch {
		case errors.Is(err, reservations.ErrPaymentChanged):
			continue
		case IsDecline(err):
			st, lerr := s.store.PaymentState(ctx, r.ID)
			if lerr != nil {
				return lerr
			}
			return s.settle(ctx, st, in)
		case err != nil:
			return fmt.Errorf("payments: %s of reservation %s: %w", stp.op, r.ID, err)
		}
	}
	return connectors.Retryable(fmt.Errorf("payments: reservation %s: more than %d operations for one event", r.ID, maxSteps))
}

// intentOf gathers what the plan needs besides the payment: the rate plan's
// policy and the date at the property when the event happened.
func (s *Service) intentOf(ctx context.Context, e canonical.Event, g Gateway) (intent, error) {
	r := e.Reservation
	prop, err := s.store.GetProperty(ctx, reservations.AllProperties, r.PropertyID)
	if err != nil {
		if errors.Is(err, reservations.ErrNotFound) {
			return intent{}, connectors.Permanent(fmt.Errorf("payments: property %s: %w", r.PropertyID, err))
		}
		return intent{}, fmt.Errorf("payments: property %s: %w", r.PropertyID, err)
	}
	in := intent{r: r, features: g.Features()}
	if t := e.Transition; t != nil && t.From == canonical.StatusNoShow && t.To == canonical.StatusConfirmed {
		in.undoNoShow = true
	}
	// One policy per reservation: its first room stay's rate plan decides.
	if len(r.RoomStays) > 0 {
		for _, rp := range prop.RatePlans {
			if rp.Code == r.RoomStays[0].RatePlan {
				in.policy = rp.Policy
			}
		}
	}
	loc, err := time.LoadLocation(prop.Timezone)
	if err != nil {
		loc = time.UTC
	}
	at := e.OccurredAt
	if at.IsZero() {
		at = s.cfg.Now()
	}
	in.today = canonical.DateOf(at.In(loc))
	return in, nil
}

// execute makes one gateway operation and records its outcome: the new
// state, the transition and its payment event, in one transaction. A
// decline is recorded too (payment.failed) and returned.
func (s *Service) execute(ctx context.Context, g Gateway, st *reservations.PaymentState, stp step, in intent, cause, correlationID string) error {
	r := in.r
	req := Request{
		IdempotencyKey:     Key(r.ID, r.Version, stp.op),
		ReservationID:      r.ID,
		ConfirmationNumber: r.ConfirmationNumber,
		PropertyID:         r.PropertyID,
		Amount:             canonical.NewMoney(stp.amount, r.Total.Currency),
	}
	if st != nil {
		req.Reference = st.Reference
		req.Amount.Currency = st.Currency
	}
	if stp.op == canonical.PaymentAuthorize || stp.op == canonical.PaymentReauthorize {
		req.Reference, req.CardToken = "", cardToken(r)
		req.Amount.Currency = r.Total.Currency
	}
	res, err := s.call(ctx, g, stp.op, req)
	o := outcome{op: stp.op, req: req, res: res, err: err, version: r.Version, cause: "event " + cause,
		correlationID: correlationID, token: cardToken(r), mask: r.Guarantee, due: r.Total.Minor,
		confirmation: r.ConfirmationNumber, reason: reasonOf(stp, in), fee: feeCharged(st, stp, in)}
	if err != nil && !IsDecline(err) {
		return err
	}
	if err == nil && stp.op == canonical.PaymentReauthorize && st != nil && st.Reference != "" && st.Reference != res.Reference {
		s.releaseOld(ctx, g, st, req.IdempotencyKey)
	}
	if cerr := s.record(ctx, st, newState(st, r.ID, r.PropertyID, g.Name()), o); cerr != nil {
		return cerr
	}
	return err
}

// call dispatches op to the gateway.
func (s *Service) call(ctx context.Context, g Gateway, op canonical.PaymentOperation, req Request) (Result, error) {
	switch op {
	case canonical.PaymentAuthorize, canonical.PaymentReauthorize:
		return g.Authorize(ctx, req)
	case canonical.PaymentAdjust, canonical.PaymentRenew:
		return g.Adjust(ctx, req)
	case canonical.PaymentCapture:
		return g.Capture(ctx, req)
	case canonical.PaymentVoid:
		return g.Void(ctx, req)
	case canonical.PaymentRefund:
		return g.Refund(ctx, req)
	}
	return Result{}, connectors.Permanent(fmt.Errorf("payments: unknown operation %q", op))
}

// releaseOld voids the hold a new authorization replaced. It is best effort:
// an old hold that cannot be voided lapses at the gateway by itself.
func (s *Service) releaseOld(ctx context.Context, g Gateway, st *reservations.PaymentState, key string) {
	_, err := g.Void(ctx, Request{IdempotencyKey: key + "-release", Reference: st.Reference, ReservationID: st.ReservationID,
		PropertyID: st.PropertyID, Amount: canonical.NewMoney(st.Authorized, st.Currency)})
	if err != nil {
		s.logger.WarnContext(ctx, "the replaced hold was not voided; it will lapse at the gateway",
			"reservation_id", st.ReservationID, "gateway", g.Name(), "error", connectors.SafeText(err.Error(), 300))
	}
}

// outcome is a gateway operation and its answer, to be recorded.
type outcome struct {
	op            canonical.PaymentOperation
	req           Request
	res           Result
	err           error // nil or a *DeclineError
	version       int   // the reservation version acted on (0: none)
	cause         string
	correlationID string
	token         string
	mask          *canonical.Guarantee
	due           int64 // the reservation's total
	confirmation  string
	reason        string
	fee           int64 // see feeCharged
	now           time.Time
}

// newState returns a copy of st to change, or a fresh payment.
func newState(st *reservations.PaymentState, reservationID, propertyID, gateway string) *reservations.PaymentState {
	if st != nil {
		c := *st
		return &c
	}
	return &reservations.PaymentState{ReservationID: reservationID, PropertyID: propertyID, Gateway: gateway}
}

// apply changes n as the outcome says.
func apply(n *reservations.PaymentState, o outcome) {
	amount := o.req.Amount.Minor
	if n.Currency == "" {
		n.Currency = o.req.Amount.Currency
	}
	if o.due >= 0 && o.version > 0 {
		n.AmountDue = o.due
	}
	if o.err != nil && o.version > n.ReservationVersion {
		// A decline ends the work on this version. A success is marked
		// when the plan is done (settle), so that later steps still run.
		n.ReservationVersion = o.version
	}
	if o.err != nil {
		n.Declined = true
		switch n.Status {
		case "", canonical.PaymentFailed, canonical.PaymentVoided, canonical.PaymentExpired:
			n.Status = canonical.PaymentFailed
			n.TokenHash = tokenHash(o.token)
			n.Currency = o.req.Amount.Currency
			if o.mask != nil {
				n.CardMask = safeMask(o.mask.CardMask)
			}
		}
		if n.Status == canonical.PaymentAuthorized && n.HoldExpiresAt != nil && !n.HoldExpiresAt.After(o.now) {
			// A renewal refused after the hold lapsed: nothing is held any more.
			n.Status = canonical.PaymentExpired
			n.Authorized = 0
		}
		return
	}
	switch o.op {
	case canonical.PaymentAuthorize, canonical.PaymentReauthorize:
		n.Status = canonical.PaymentAuthorized
		n.Reference = o.res.Reference
		n.Currency = o.req.Amount.Currency
		n.Authorized, n.Captured, n.Refunded = amount, 0, 0
		if o.token != "" {
			n.TokenHash = tokenHash(o.token)
		}
		if o.mask != nil {
			n.CardMask = safeMask(o.mask.CardMask)
		}
		n.Declined = false
		n.HoldExpiresAt = expiry(o.res)
	case canonical.PaymentAdjust, canonical.PaymentRenew:
		n.Status = canonical.PaymentAuthorized
		if o.res.Reference != "" && o.op == canonical.PaymentRenew {
			n.Reference = o.res.Reference
		}
		n.Authorized = amount
		n.Declined = false
		if t := expiry(o.res); t != nil {
			n.HoldExpiresAt = t
		}
	case canonical.PaymentCapture:
		n.Status = canonical.PaymentCaptured
		n.Captured, n.Authorized = amount, 0
		n.HoldExpiresAt = nil
	case canonical.PaymentVoid:
		n.Status = canonical.PaymentVoided
		n.Authorized = 0
		n.HoldExpiresAt = nil
	case canonical.PaymentRefund:
		n.Status = canonical.PaymentRefunded
		n.Refunded += amount
	}
}

func expiry(res Result) *time.Time {
	if res.HoldExpiresAt.IsZero() {
		return nil
	}
	t := res.HoldExpiresAt.UTC()
	return &t
}

// safeMask keeps a card mask only if it really is masked.
func safeMask(mask string) string {
	if canonical.ContainsCardNumber(mask) || len(mask) > 32 {
		return ""
	}
	return mask
}

// record applies an outcome to the payment and writes the new state, the
// transition and its payment event in one transaction.
func (s *Service) record(ctx context.Context, old, n *reservations.PaymentState, o outcome) error {
	o.now = s.cfg.Now().UTC().Truncate(time.Microsecond)
	var from canonical.PaymentStatus
	if old != nil {
		from = old.Status
	}
	c := *n
	change, err := transition(ctx, from, &c, o)
	if err != nil {
		return err
	}
	if err := s.store.SavePayment(ctx, change); err != nil {
		return err
	}
	*n = c
	level := slog.LevelInfo
	if o.err != nil {
		level = slog.LevelWarn
	}
	s.logger.Log(ctx, level, "payment "+string(o.op), "reservation_id", n.ReservationID, "property_id", n.PropertyID,
		"gateway", n.Gateway, "from", string(from), "to", string(n.Status), "amount", o.req.Amount.String(),
		"idempotency_key", o.req.IdempotencyKey)
	return nil
}

// transition applies o to n and returns the change to write: the new
// state, the transition from status from, and the payment event that
// announces it.
func transition(ctx context.Context, from canonical.PaymentStatus, n *reservations.PaymentState, o outcome) (reservations.PaymentChange, error) {
	apply(n, o)
	if !CanTransition(from, n.Status) {
		return reservations.PaymentChange{}, connectors.Permanent(fmt.Errorf("payments: reservation %s: %s cannot go from %q to %q", n.ReservationID, o.op, from, n.Status))
	}
	reason := o.reason
	if o.err != nil {
		reason = connectors.SafeText(o.err.Error(), 300)
	}
	ev := reservations.NewEvent(ctx, eventFor(n.Status), n.PropertyID, o.now, nil, nil)
	if o.err != nil {
		ev.Type = canonical.EventPaymentFailed
	}
	if o.correlationID != "" {
		ev.CorrelationID = o.correlationID
	}
	ev.Payment = &canonical.Payment{
		ReservationID: n.ReservationID, ConfirmationNumber: o.confirmation, ReservationVersion: o.version,
		Gateway: n.Gateway, Reference: n.Reference, Operation: o.op, Status: n.Status,
		Amount:     o.req.Amount,
		Authorized: canonical.NewMoney(n.Authorized, n.Currency), Captured: canonical.NewMoney(n.Captured, n.Currency),
		Refunded: canonical.NewMoney(n.Refunded, n.Currency), CardMask: n.CardMask, Reason: reason,
		HoldExpiresAt: n.HoldExpiresAt,
	}
	tr := &reservations.PaymentTransition{ReservationID: n.ReservationID, Gateway: n.Gateway, Operation: o.op, From: from, To: n.Status,
		Amount: o.req.Amount, Reference: n.Reference, IdempotencyKey: o.req.IdempotencyKey, ReservationVersion: o.version,
		Cause: o.cause, Reason: reason, EventID: ev.ID, At: o.now, PropertyID: n.PropertyID}
	if o.err == nil {
		tr.Fee = canonical.NewMoney(o.fee, o.req.Amount.Currency)
	}
	return reservations.PaymentChange{State: n, Transition: tr, Event: &ev, At: o.now}, nil
}

// settle finishes an event's plan: it marks the reservation version as acted
// on, keeps the amount due, notes what a person must handle, and makes the
// reservation's payment_declined flag say whether the payment was declined.
func (s *Service) settle(ctx context.Context, st *reservations.PaymentState, in intent) error {
	if st == nil {
		return nil
	}
	r := in.r
	n := *st
	if r.Version > n.ReservationVersion {
		n.ReservationVersion = r.Version
	}
	if n.Status == canonical.PaymentAuthorized || n.Status == canonical.PaymentFailed {
		n.AmountDue = r.Total.Minor
	}
	if net := n.Captured - n.Refunded; (n.Status == canonical.PaymentCaptured || n.Status == canonical.PaymentRefunded) &&
		r.Status != canonical.StatusCancelled && r.Status != canonical.StatusNoShow && r.Total.Minor > net {
		n.Attention = fmt.Sprintf("the reservation costs %s but %s was charged; charge the difference at the property",
			r.Total, canonical.NewMoney(net, n.Currency))
	}
	if n.ReservationVersion != st.ReservationVersion || n.AmountDue != st.AmountDue || n.Attention != st.Attention {
		err := s.store.SavePayment(ctx, reservations.PaymentChange{State: &n, At: s.cfg.Now().UTC().Truncate(time.Microsecond)})
		if errors.Is(err, reservations.ErrPaymentChanged) {
			return connectors.Retryable(fmt.Errorf("payments: reservation %s changed meanwhile: %w", r.ID, err))
		}
		if err != nil {
			return err
		}
	}
	if n.Declined != r.HasFlag(canonical.FlagPaymentDeclined) {
		return s.syncFlag(ctx, r.ID, n.Declined)
	}
	return nil
}

// syncFlag sets (or clears) the reservation's payment_declined flag. The
// store publishes the change as reservation.modified, so it shows in the
// booking API and the reservation's timeline.
func (s *Service) syncFlag(ctx context.Context, reservationID string, declined bool) error {
	_, err := s.store.Update(ctx, reservations.AllProperties, reservationID, reservations.UpdateOptions{}, func(r *canonical.Reservation) error {
		if declined {
			r.SetFlag(canonical.FlagPaymentDeclined)
			return nil
		}
		flags := r.Flags[:0]
		for _, f := range r.Flags {
			if f != canonical.FlagPaymentDeclined {
				flags = append(flags, f)
			}
		}
		if len(flags) == 0 {
			flags = nil
		}
		r.Flags = flags
		return nil
	})
	switch {
	case errors.Is(err, reservations.ErrInvalidState), errors.Is(err, reservations.ErrNotFound):
		// A final reservation keeps its flags; nothing to secure any more.
		return nil
	case err != nil:
		return fmt.Errorf("payments: flag reservation %s: %w", reservationID, err)
	}
	s.logger.InfoContext(ctx, "payment flag changed", "reservation_id", reservationID, "payment_declined", declined)
	return nil
}
