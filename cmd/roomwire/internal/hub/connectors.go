package hub

// The connectors the hub can plug: each registers itself by name when its
// package is linked.
import (
	_ "github.com/roomwire/roomwire/connectors/adyen"
	_ "github.com/roomwire/roomwire/connectors/apaleo"
	_ "github.com/roomwire/roomwire/connectors/bookingcom"
	_ "github.com/roomwire/roomwire/connectors/expedia"
	_ "github.com/roomwire/roomwire/connectors/ota"
	_ "github.com/roomwire/roomwire/connectors/stripe"
)
