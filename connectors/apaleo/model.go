package apaleo

import "encoding/json"

// The Apaleo wire format: the subset of the Booking, Availability, Rate plan
// and Identity APIs and of the webhooks that the connector uses. Field names
// are Apaleo's.

// Money is Apaleo's amount: a JSON number and a currency.
type Money struct {
	Amount   json.Number `json:"amount"`
	Currency string      `json:"currency"`
}

// Embedded is a reference to another Apaleo entity.
type Embedded struct {
	ID   string `json:"id"`
	Code string `json:"code,omitempty"`
	Name string `json:"name,omitempty"`
}

// Address is a postal address.
type Address struct {
	AddressLine1 string `json:"addressLine1,omitempty"`
	AddressLine2 string `json:"addressLine2,omitempty"`
	PostalCode   string `json:"postalCode,omitempty"`
	City         string `json:"city,omitempty"`
	CountryCode  string `json:"countryCode,omitempty"`
}

// Guest is a booker or a guest.
type Guest struct {
	Title     string   `json:"title,omitempty"`
	FirstName string   `json:"firstName,omitempty"`
	LastName  string   `json:"lastName"`
	Email     string   `json:"email,omitempty"`
	Phone     string   `json:"phone,omitempty"`
	Address   *Address `json:"address,omitempty"`
}

// TimeSlice is one night of a reservation.
type TimeSlice struct {
	From             string    `json:"from,omitempty"`
	To               string    `json:"to,omitempty"`
	ServiceDate      string    `json:"serviceDate,omitempty"`
	RatePlan         *Embedded `json:"ratePlan,omitempty"`
	UnitGroup        *Embedded `json:"unitGroup,omitempty"`
	TotalGrossAmount *Money    `json:"totalGrossAmount,omitempty"`
}

// PaymentAccount is the card guaranteeing a reservation, as Apaleo shows it:
// the account number is masked.
type PaymentAccount struct {
	AccountNumber string `json:"accountNumber,omitempty"`
	AccountHolder string `json:"accountHolder,omitempty"`
	ExpiryMonth   string `json:"expiryMonth,omitempty"`
	ExpiryYear    string `json:"expiryYear,omitempty"`
	PaymentMethod string `json:"paymentMethod,omitempty"`
}

// Reservation is GET /booking/v1/reservations/{id}.
type Reservation struct {
	ID               string          `json:"id"`
	BookingID        string          `json:"bookingId"`
	Status           string          `json:"status"`
	Property         Embedded        `json:"property"`
	RatePlan         Embedded        `json:"ratePlan"`
	UnitGroup        Embedded        `json:"unitGroup"`
	TotalGrossAmount *Money          `json:"totalGrossAmount,omitempty"`
	Arrival          string          `json:"arrival"`
	Departure        string          `json:"departure"`
	Created          string          `json:"created,omitempty"`
	Modified         string          `json:"modified,omitempty"`
	Adults           int             `json:"adults"`
	ChildrenAges     []int           `json:"childrenAges,omitempty"`
	ChannelCode      string          `json:"channelCode,omitempty"`
	Source           string          `json:"source,omitempty"`
	ExternalCode     string          `json:"externalCode,omitempty"`
	PrimaryGuest     *Guest          `json:"primaryGuest,omitempty"`
	AdditionalGuests []Guest         `json:"additionalGuests,omitempty"`
	GuaranteeType    string          `json:"guaranteeType,omitempty"`
	TimeSlices       []TimeSlice     `json:"timeSlices,omitempty"`
	Balance          *Money          `json:"balance,omitempty"`
	Comment          string          `json:"comment,omitempty"`
	GuestComment     string          `json:"guestComment,omitempty"`
	PaymentAccount   *PaymentAccount `json:"paymentAccount,omitempty"`
}

// ReservationList is GET /booking/v1/reservations.
type ReservationList struct {
	Reservations []Reservation `json:"reservations"`
	Count        int           `json:"count"`
}

// CreateBooking is the body of POST /booking/v1/bookings.
type CreateBooking struct {
	Booker       Guest               `json:"booker"`
	Comment      string              `json:"comment,omitempty"`
	Reservations []CreateReservation `json:"reservations"`
}

// CreateReservation is one room of a new booking.
type CreateReservation struct {
	Arrival          string            `json:"arrival"`
	Departure        string            `json:"departure"`
	Adults           int               `json:"adults"`
	ChildrenAges     []int             `json:"childrenAges,omitempty"`
	ChannelCode      string            `json:"channelCode"`
	Source           string            `json:"source,omitempty"`
	ExternalCode     string            `json:"externalCode,omitempty"`
	PrimaryGuest     Guest             `json:"primaryGuest"`
	AdditionalGuests []Guest           `json:"additionalGuests,omitempty"`
	GuaranteeType    string            `json:"guaranteeType,omitempty"`
	Comment          string            `json:"comment,omitempty"`
	TimeSlices       []CreateTimeSlice `json:"timeSlices"`
}

// CreateTimeSlice is one night of a new or amended reservation.
type CreateTimeSlice struct {
	RatePlanID  string `json:"ratePlanId"`
	TotalAmount *Money `json:"totalAmount,omitempty"`
}

// CreateBookingResult is the answer to POST /booking/v1/bookings.
type CreateBookingResult struct {
	ID             string `json:"id"`
	ReservationIDs []struct {
		ID string `json:"id"`
	} `json:"reservationIds"`
}

// AddReservations is the body of POST /booking/v1/bookings/{id}/reservations,
// which adds rooms to an existing booking.
type AddReservations struct {
	Reservations []CreateReservation `json:"reservations"`
}

// ReservationsCreated is the answer to POST /booking/v1/bookings/{id}/reservations.
type ReservationsCreated struct {
	ReservationIDs []struct {
		ID string `json:"id"`
	} `json:"reservationIds"`
}

// PatchOperation is one operation of a JSON Patch (RFC 6902), the body of
// PATCH /booking/v1/reservations/{id}, which changes a reservation's guests
// and comments.
type PatchOperation struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value any    `json:"value,omitempty"`
}

// Amend is the body of PUT /booking/v1/reservation-actions/{id}/amend.
type Amend struct {
	Arrival      string            `json:"arrival"`
	Departure    string            `json:"departure"`
	Adults       int               `json:"adults"`
	ChildrenAges []int             `json:"childrenAges,omitempty"`
	Comment      string            `json:"comment,omitempty"`
	TimeSlices   []CreateTimeSlice `json:"timeSlices"`
}

// Webhook is one webhook delivery.
type Webhook struct {
	Topic      string `json:"topic"`
	Type       string `json:"type"`
	ID         string `json:"id"`
	AccountID  string `json:"accountId"`
	PropertyID string `json:"propertyId"`
	Data       struct {
		EntityID string `json:"entityId"`
	} `json:"data"`
	Timestamp int64 `json:"timestamp"`
}

// Error is Apaleo's error body, as in a 422.
type Error struct {
	Messages []string `json:"messages"`
}

// Token is the identity server's answer to a client-credentials grant.
type Token struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
}

// UnitGroupAvailability is GET /availability/v1/unit-groups.
type UnitGroupAvailability struct {
	TimeSlices []AvailabilitySlice `json:"timeSlices"`
	Count      int                 `json:"count"`
}

// AvailabilitySlice is one night of availability.
type AvailabilitySlice struct {
	From       string                  `json:"from"`
	To         string                  `json:"to"`
	UnitGroups []UnitGroupAvailableNow `json:"unitGroups"`
}

// UnitGroupAvailableNow is one unit group's counts on one night.
type UnitGroupAvailableNow struct {
	UnitGroup      Embedded `json:"unitGroup"`
	PhysicalCount  int      `json:"physicalCount"`
	HouseCount     int      `json:"houseCount"`
	SoldCount      int      `json:"soldCount"`
	AvailableCount int      `json:"availableCount"`
	SellableCount  int      `json:"sellableCount"`
}

// RatePlanList is GET /rateplan/v1/rate-plans.
type RatePlanList struct {
	RatePlans []RatePlan `json:"ratePlans"`
	Count     int        `json:"count"`
}

// RatePlan is one of a property's rate plans.
type RatePlan struct {
	ID        string   `json:"id"`
	Code      string   `json:"code"`
	Name      string   `json:"name"`
	Property  Embedded `json:"property"`
	UnitGroup Embedded `json:"unitGroup"`
}

// RateList is GET /rateplan/v1/rate-plans/{id}/rates.
type RateList struct {
	Rates []Rate `json:"rates"`
	Count int    `json:"count"`
}

// Rate is one night's price of a rate plan, its prices by number of adults
// and its restrictions.
type Rate struct {
	From             string            `json:"from"`
	To               string            `json:"to"`
	Price            *Money            `json:"price,omitempty"`
	CalculatedPrices []CalculatedPrice `json:"calculatedPrices,omitempty"`
	Restrictions     *RateRestrictions `json:"restrictions,omitempty"`
}

// CalculatedPrice is a night's price for a number of adults.
type CalculatedPrice struct {
	Adults int   `json:"adults"`
	Price  Money `json:"price"`
}

// RateRestrictions are a night's restrictions; a length of stay left out is
// no limit.
type RateRestrictions struct {
	MinLengthOfStay   int  `json:"minLengthOfStay,omitempty"`
	MaxLengthOfStay   int  `json:"maxLengthOfStay,omitempty"`
	Closed            bool `json:"closed"`
	ClosedOnArrival   bool `json:"closedOnArrival"`
	ClosedOnDeparture bool `json:"closedOnDeparture"`
}
