package connectors

import "context"

// SendOnce calls send unless a receipt under key says it succeeded before,
// and records the receipt once it has. A crash between the two sends again
// under the same key, so send must carry key as its idempotency key (or the
// partner must answer a repeat as done).
func SendOnce(ctx context.Context, receipts *Receipts, connector, key string, send func() error) error {
	seen, err := receipts.Seen(ctx, connector, key)
	if err != nil {
		return Retryable(err)
	}
	if seen {
		return nil
	}
	if err := send(); err != nil {
		return err
	}
	if err := receipts.Record(ctx, connector, key); err != nil {
		return Retryable(err)
	}
	return nil
}
