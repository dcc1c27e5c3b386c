package payments

import (
	"context"

	"github.com/roomwire/roomwire/reservations"
)

// Transitions returns every transition of a reservation's payment, oldest first.
func (s *Service) Transitions(ctx context.Context, reservationID string) ([]reservations.PaymentTransition, error) {
	return s.store.PaymentTransitions(ctx, reservationID)
}

// Payment returns where a reservation's payment stands, or nil when it has none.
func (s *Service) Payment(ctx context.Context, reservationID string) (*reservations.PaymentState, error) {
	return s.store.PaymentState(ctx, reservationID)
}

// Store returns the reservation store the flow works on.
func (s *Service) Store() *reservations.Store { return s.store }
