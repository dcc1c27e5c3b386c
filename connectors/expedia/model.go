package expedia

import "encoding/xml"

// The QuickConnect namespaces: booking retrieval, booking confirmation and
// availability and rates.
const (
	NamespaceBR = "http://www.expediaconnect.com/EQC/BR/2014/01"
	NamespaceBC = "http://www.expediaconnect.com/EQC/BC/2007/09"
	NamespaceAR = "http://www.expediaconnect.com/EQC/AR/2011/06"
)

// The root elements.
var (
	RootRetrievalRQ = xml.Name{Space: NamespaceBR, Local: "BookingRetrievalRQ"}
	RootRetrievalRS = xml.Name{Space: NamespaceBR, Local: "BookingRetrievalRS"}
	RootConfirmRQ   = xml.Name{Space: NamespaceBC, Local: "BookingConfirmRQ"}
	RootConfirmRS   = xml.Name{Space: NamespaceBC, Local: "BookingConfirmRS"}
	RootARRQ        = xml.Name{Space: NamespaceAR, Local: "AvailRateUpdateRQ"}
	RootARRS        = xml.Name{Space: NamespaceAR, Local: "AvailRateUpdateRS"}
)

// Authentication carries the credentials in the body, as QuickConnect wants.
type Authentication struct {
	Username string `xml:"username,attr"`
	Password string `xml:"password,attr"`
}

// Hotel names a hotel by Expedia's id.
type Hotel struct {
	ID string `xml:"id,attr"`
}

// RetrievalRQ is BookingRetrievalRQ: the bookings not yet confirmed.
type RetrievalRQ struct {
	XMLName        xml.Name
	Authentication Authentication `xml:"Authentication"`
	Hotel          *Hotel         `xml:"Hotel"`
	ParamSet       *ParamSet      `xml:"ParamSet"`
}

// ParamSet narrows a retrieval.
type ParamSet struct {
	Status *struct {
		Value string `xml:"value,attr"`
	} `xml:"Status"`
}

// RetrievalRS is BookingRetrievalRS.
type RetrievalRS struct {
	XMLName  xml.Name
	Bookings []Booking `xml:"Bookings>Booking"`
	Errors   []Error   `xml:"Error"`
}

// Booking is one booking message: a new booking, a modification or a
// cancellation (Type Book, Modify, Cancel) of Expedia's booking ID.
type Booking struct {
	ID              string           `xml:"id,attr"`
	Type            string           `xml:"type,attr"`
	CreateDateTime  string           `xml:"createDateTime,attr"`
	Source          string           `xml:"source,attr,omitempty"`
	Status          string           `xml:"status,attr,omitempty"`
	Hotel           Hotel            `xml:"Hotel"`
	RoomStays       []RoomStay       `xml:"RoomStay"`
	PrimaryGuest    PrimaryGuest     `xml:"PrimaryGuest"`
	SpecialRequests []SpecialRequest `xml:"SpecialRequest"`
}

// RoomStay is the room of a booking.
type RoomStay struct {
	RoomTypeID  string       `xml:"roomTypeID,attr"`
	RatePlanID  string       `xml:"ratePlanID,attr"`
	StayDate    StayDate     `xml:"StayDate"`
	GuestCount  GuestCount   `xml:"GuestCount"`
	PerDayRates PerDayRates  `xml:"PerDayRates"`
	Total       *Total       `xml:"Total"`
	PaymentCard *PaymentCard `xml:"PaymentCard"`
}

// StayDate is arrival and departure.
type StayDate struct {
	Arrival   string `xml:"arrival,attr"`
	Departure string `xml:"departure,attr"`
}

// GuestCount counts adults and children, with each child's age.
type GuestCount struct {
	Adult    string  `xml:"adult,attr"`
	Child    string  `xml:"child,attr,omitempty"`
	Children []Child `xml:"Child"`
}

// Child is one child and its age.
type Child struct {
	Age string `xml:"age,attr"`
}

// PerDayRates are the nightly rates, before taxes.
type PerDayRates struct {
	Currency string       `xml:"currency,attr"`
	Rates    []PerDayRate `xml:"PerDayRate"`
}

// PerDayRate is one night's rate.
type PerDayRate struct {
	StayDate string `xml:"stayDate,attr"`
	BaseRate string `xml:"baseRate,attr"`
}

// Total is the stay's total after taxes.
type Total struct {
	AmountAfterTaxes string `xml:"amountAfterTaxes,attr"`
	AmountOfTaxes    string `xml:"amountOfTaxes,attr,omitempty"`
	Currency         string `xml:"currency,attr"`
}

// PaymentCard is the card Expedia passes on (often a virtual card).
type PaymentCard struct {
	CardCode   string `xml:"cardCode,attr,omitempty"`
	CardNumber string `xml:"cardNumber,attr,omitempty"`
	ExpireDate string `xml:"expireDate,attr,omitempty"`
	CardHolder *struct {
		Name string `xml:"name,attr"`
	} `xml:"CardHolder"`
}

// PrimaryGuest is the guest the booking is in the name of.
type PrimaryGuest struct {
	Name  GuestName `xml:"Name"`
	Phone *Phone    `xml:"Phone"`
	Email string    `xml:"Email,omitempty"`
}

// GuestName is a guest's name.
type GuestName struct {
	GivenName string `xml:"givenName,attr"`
	Surname   string `xml:"surname,attr"`
}

// Phone is a phone number in parts.
type Phone struct {
	CountryCode  string `xml:"countryCode,attr,omitempty"`
	CityAreaCode string `xml:"cityAreaCode,attr,omitempty"`
	Number       string `xml:"number,attr"`
}

// SpecialRequest is a guest's request.
type SpecialRequest struct {
	Code string `xml:"code,attr,omitempty"`
	Text string `xml:",chardata"`
}

// Error is a QuickConnect error: a code and a text.
type Error struct {
	Code string `xml:"code,attr"`
	Text string `xml:",chardata"`
}

// ConfirmRQ is BookingConfirmRQ: Roomwire's confirmation numbers.
type ConfirmRQ struct {
	XMLName        xml.Name
	Authentication Authentication  `xml:"Authentication"`
	Hotel          Hotel           `xml:"Hotel"`
	Numbers        []ConfirmNumber `xml:"BookingConfirmNumbers>BookingConfirmNumber"`
}

// ConfirmNumber confirms one booking message.
type ConfirmNumber struct {
	BookingID     string `xml:"bookingID,attr"`
	BookingType   string `xml:"bookingType,attr"`
	ConfirmNumber string `xml:"confirmNumber,attr"`
	ConfirmTime   string `xml:"confirmTime,attr"`
}

// RS is the reply to a confirmation or an AR update: Success, or Errors.
type RS struct {
	XMLName  xml.Name
	Success  *struct{} `xml:"Success"`
	Warnings []Error   `xml:"Warning"`
	Errors   []Error   `xml:"Error"`
}

// ARRQ is AvailRateUpdateRQ.
type ARRQ struct {
	XMLName        xml.Name
	Authentication Authentication `xml:"Authentication"`
	Hotel          Hotel          `xml:"Hotel"`
	Updates        []ARUpdate     `xml:"AvailRateUpdate"`
}

// ARUpdate sets availability, rates or restrictions for a date range
// (both dates included).
type ARUpdate struct {
	DateRange DateRange  `xml:"DateRange"`
	RoomType  ARRoomType `xml:"RoomType"`
}

// DateRange is from..to, both included.
type DateRange struct {
	From string `xml:"from,attr"`
	To   string `xml:"to,attr"`
}

// ARRoomType is a room type's inventory and rate plans.
type ARRoomType struct {
	ID        string       `xml:"id,attr"`
	Closed    string       `xml:"closed,attr,omitempty"`
	Inventory *ARInventory `xml:"Inventory"`
	RatePlans []ARRatePlan `xml:"RatePlan"`
}

// ARInventory is the rooms left to sell.
type ARInventory struct {
	TotalInventoryAvailable string `xml:"totalInventoryAvailable,attr"`
}

// ARRatePlan is a rate plan's rate and restrictions.
type ARRatePlan struct {
	ID           string          `xml:"id,attr"`
	Closed       string          `xml:"closed,attr,omitempty"`
	Rate         *ARRate         `xml:"Rate"`
	Restrictions *ARRestrictions `xml:"Restrictions"`
}

// ARRate is a nightly rate: one per day, or one per occupancy.
type ARRate struct {
	Currency     string           `xml:"currency,attr"`
	PerDay       *ARPerDay        `xml:"PerDay"`
	PerOccupancy []ARPerOccupancy `xml:"PerOccupancy"`
}

// ARPerDay is the nightly rate whatever the occupancy.
type ARPerDay struct {
	Rate string `xml:"rate,attr"`
}

// ARPerOccupancy is the nightly rate for a number of adults.
type ARPerOccupancy struct {
	Rate      string `xml:"rate,attr"`
	Occupancy string `xml:"occupancy,attr"`
}

// ARRestrictions are stay restrictions.
type ARRestrictions struct {
	MinLOS            string `xml:"minLOS,attr,omitempty"`
	MaxLOS            string `xml:"maxLOS,attr,omitempty"`
	ClosedToArrival   string `xml:"closedToArrival,attr,omitempty"`
	ClosedToDeparture string `xml:"closedToDeparture,attr,omitempty"`
}
