// Package all links every connector Roomwire ships into a binary: importing
// it for its side effects registers each one (see connectors.Register), as
// Caddy's standard modules do. A new connector is one folder below
// connectors/ and one line here.
//
//	import _ "github.com/roomwire/roomwire/connectors/all"
package all

import (
	_ "github.com/roomwire/roomwire/connectors/adyen"      // Adyen payments
	_ "github.com/roomwire/roomwire/connectors/apaleo"     // Apaleo PMS
	_ "github.com/roomwire/roomwire/connectors/bookingcom" // Booking.com
	_ "github.com/roomwire/roomwire/connectors/expedia"    // Expedia QuickConnect
	_ "github.com/roomwire/roomwire/connectors/ota"        // OpenTravel channels
	_ "github.com/roomwire/roomwire/connectors/stripe"     // Stripe payments
)
