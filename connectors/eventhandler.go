package connectors

import (
	"fmt"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/roomwire/roomwire/canonical"
)

// EventHandler adapts an outbound connector to a consumer of canonical events
// on the backbone: it decodes each message and hands the event over. A
// message that is no canonical event fails permanently, so it goes to the
// dead letters instead of being retried.
func EventHandler(o Outbound) func(*message.Message) error {
	return func(msg *message.Message) error {
		var e canonical.Event
		if err := DecodeJSON(msg.Payload, &e); err != nil {
			return Permanent(fmt.Errorf("%s: not a canonical event: %w", o.Name(), err))
		}
		return o.HandleEvent(msg.Context(), e)
	}
}
