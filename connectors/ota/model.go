package ota

import "encoding/xml"

// Namespace is the OpenTravel 2003B namespace every message is in.
const Namespace = "http://www.opentravel.org/OTA/2003/05"

// The root elements the package reads and writes.
var (
	RootResNotifRQ        = xml.Name{Space: Namespace, Local: "OTA_HotelResNotifRQ"}
	RootResNotifRS        = xml.Name{Space: Namespace, Local: "OTA_HotelResNotifRS"}
	RootResModifyNotifRQ  = xml.Name{Space: Namespace, Local: "OTA_HotelResModifyNotifRQ"}
	RootResModifyNotifRS  = xml.Name{Space: Namespace, Local: "OTA_HotelResModifyNotifRS"}
	RootAvailNotifRQ      = xml.Name{Space: Namespace, Local: "OTA_HotelAvailNotifRQ"}
	RootAvailNotifRS      = xml.Name{Space: Namespace, Local: "OTA_HotelAvailNotifRS"}
	RootInvCountNotifRQ   = xml.Name{Space: Namespace, Local: "OTA_HotelInvCountNotifRQ"}
	RootInvCountNotifRS   = xml.Name{Space: Namespace, Local: "OTA_HotelInvCountNotifRS"}
	RootRateAmountNotifRQ = xml.Name{Space: Namespace, Local: "OTA_HotelRateAmountNotifRQ"}
	RootRateAmountNotifRS = xml.Name{Space: Namespace, Local: "OTA_HotelRateAmountNotifRS"}
)

// ResNotifRQ is OTA_HotelResNotifRQ (and, with its reservations under
// HotelResModifies, OTA_HotelResModifyNotifRQ): one or more reservations.
type ResNotifRQ struct {
	XMLName           xml.Name
	Version           string             `xml:"Version,attr,omitempty"`
	EchoToken         string             `xml:"EchoToken,attr,omitempty"`
	TimeStamp         string             `xml:"TimeStamp,attr,omitempty"`
	ResStatus         string             `xml:"ResStatus,attr,omitempty"`
	POS               *POS               `xml:"POS"`
	HotelReservations []HotelReservation `xml:"HotelReservations>HotelReservation"`
	// HotelResModifies holds the reservations of OTA_HotelResModifyNotifRQ.
	HotelResModifies []HotelReservation `xml:"HotelResModifies>HotelResModify"`
}

// Reservations returns the message's reservations, wherever they are.
func (rq *ResNotifRQ) Reservations() []HotelReservation {
	return append(append([]HotelReservation(nil), rq.HotelReservations...), rq.HotelResModifies...)
}

// POS is the point of sale: who sends the message.
type POS struct {
	Sources []Source `xml:"Source"`
}

// Source is one POS source.
type Source struct {
	RequestorID    *RequestorID    `xml:"RequestorID"`
	BookingChannel *BookingChannel `xml:"BookingChannel"`
}

// RequestorID names the sender; some partners authenticate with its
// MessagePassword.
type RequestorID struct {
	Type            string `xml:"Type,attr,omitempty"`
	ID              string `xml:"ID,attr,omitempty"`
	MessagePassword string `xml:"MessagePassword,attr,omitempty"`
}

// BookingChannel is the channel the booking was made through.
type BookingChannel struct {
	Type        string       `xml:"Type,attr,omitempty"`
	CompanyName *CompanyName `xml:"CompanyName"`
}

// CompanyName is a company and its code.
type CompanyName struct {
	Code string `xml:"Code,attr,omitempty"`
	Name string `xml:",chardata"`
}

// HotelReservation is one reservation.
type HotelReservation struct {
	ResStatus          string        `xml:"ResStatus,attr,omitempty"`
	CreateDateTime     string        `xml:"CreateDateTime,attr,omitempty"`
	LastModifyDateTime string        `xml:"LastModifyDateTime,attr,omitempty"`
	UniqueID           *UniqueID     `xml:"UniqueID"`
	RoomStays          []RoomStay    `xml:"RoomStays>RoomStay"`
	ResGuests          []ResGuest    `xml:"ResGuests>ResGuest"`
	ResGlobalInfo      ResGlobalInfo `xml:"ResGlobalInfo"`
}

// UniqueID is a reservation id; Type 14 is the channel's reservation.
type UniqueID struct {
	Type string `xml:"Type,attr,omitempty"`
	ID   string `xml:"ID,attr,omitempty"`
}

// RoomStay is one room (or NumberOfUnits rooms) for a time span.
type RoomStay struct {
	RoomTypes         []RoomType         `xml:"RoomTypes>RoomType"`
	RatePlans         []RatePlan         `xml:"RatePlans>RatePlan"`
	RoomRates         []RoomRate         `xml:"RoomRates>RoomRate"`
	GuestCounts       []GuestCount       `xml:"GuestCounts>GuestCount"`
	TimeSpan          *TimeSpan          `xml:"TimeSpan"`
	Total             *Amount            `xml:"Total"`
	BasicPropertyInfo *BasicPropertyInfo `xml:"BasicPropertyInfo"`
	ResGuestRPHs      []ResGuestRPH      `xml:"ResGuestRPHs>ResGuestRPH"`
	Comments          []Comment          `xml:"Comments>Comment"`
}

// RoomType names a room type.
type RoomType struct {
	RoomTypeCode  string `xml:"RoomTypeCode,attr,omitempty"`
	NumberOfUnits string `xml:"NumberOfUnits,attr,omitempty"`
}

// RatePlan names a rate plan.
type RatePlan struct {
	RatePlanCode string `xml:"RatePlanCode,attr,omitempty"`
}

// RoomRate is the price of a room type at a rate plan, as runs of nights.
type RoomRate struct {
	RoomTypeCode  string `xml:"RoomTypeCode,attr,omitempty"`
	RatePlanCode  string `xml:"RatePlanCode,attr,omitempty"`
	NumberOfUnits string `xml:"NumberOfUnits,attr,omitempty"`
	Rates         []Rate `xml:"Rates>Rate"`
}

// Rate is the nightly price for the nights EffectiveDate to ExpireDate.
type Rate struct {
	EffectiveDate  string `xml:"EffectiveDate,attr,omitempty"`
	ExpireDate     string `xml:"ExpireDate,attr,omitempty"`
	RateTimeUnit   string `xml:"RateTimeUnit,attr,omitempty"`
	UnitMultiplier string `xml:"UnitMultiplier,attr,omitempty"`
	// ExpireDateExclusiveIndicator "false" makes ExpireDate a night of the run.
	ExpireDateExclusiveIndicator string  `xml:"ExpireDateExclusiveIndicator,attr,omitempty"`
	Base                         *Amount `xml:"Base"`
}

// Amount is an OTA amount before and after tax.
type Amount struct {
	AmountBeforeTax string `xml:"AmountBeforeTax,attr,omitempty"`
	AmountAfterTax  string `xml:"AmountAfterTax,attr,omitempty"`
	CurrencyCode    string `xml:"CurrencyCode,attr,omitempty"`
	// DecimalPlaces, when set, says the amounts are integers of that many
	// implied decimals (13200 with 2 is 132.00).
	DecimalPlaces string `xml:"DecimalPlaces,attr,omitempty"`
}

// GuestCount counts guests of one age category: AgeQualifyingCode 10 adults,
// 8 children (with Age), 7 infants.
type GuestCount struct {
	AgeQualifyingCode string `xml:"AgeQualifyingCode,attr,omitempty"`
	Count             string `xml:"Count,attr,omitempty"`
	Age               string `xml:"Age,attr,omitempty"`
}

// TimeSpan is a stay from Start (arrival) to End (departure).
type TimeSpan struct {
	Start string `xml:"Start,attr,omitempty"`
	End   string `xml:"End,attr,omitempty"`
}

// BasicPropertyInfo names the hotel.
type BasicPropertyInfo struct {
	HotelCode string `xml:"HotelCode,attr,omitempty"`
}

// ResGuestRPH points at a ResGuest.
type ResGuestRPH struct {
	RPH string `xml:"RPH,attr,omitempty"`
}

// ResGuest is one guest of the reservation.
type ResGuest struct {
	ResGuestRPH       string    `xml:"ResGuestRPH,attr,omitempty"`
	AgeQualifyingCode string    `xml:"AgeQualifyingCode,attr,omitempty"`
	PrimaryIndicator  string    `xml:"PrimaryIndicator,attr,omitempty"`
	Profiles          []Profile `xml:"Profiles>ProfileInfo>Profile"`
}

// Profile is a guest's profile.
type Profile struct {
	ProfileType string    `xml:"ProfileType,attr,omitempty"`
	Customer    *Customer `xml:"Customer"`
}

// Customer is a person.
type Customer struct {
	PersonName PersonName  `xml:"PersonName"`
	Telephone  []Telephone `xml:"Telephone"`
	Email      []string    `xml:"Email"`
	Address    *Address    `xml:"Address"`
}

// PersonName is a person's name.
type PersonName struct {
	NamePrefix string   `xml:"NamePrefix,omitempty"`
	GivenName  []string `xml:"GivenName"`
	Surname    string   `xml:"Surname"`
}

// Telephone is a phone number.
type Telephone struct {
	PhoneNumber string `xml:"PhoneNumber,attr,omitempty"`
}

// Address is a postal address.
type Address struct {
	AddressLine []string     `xml:"AddressLine"`
	CityName    string       `xml:"CityName,omitempty"`
	PostalCode  string       `xml:"PostalCode,omitempty"`
	CountryName *CountryName `xml:"CountryName"`
}

// CountryName is a country and its ISO code.
type CountryName struct {
	Code string `xml:"Code,attr,omitempty"`
	Name string `xml:",chardata"`
}

// ResGlobalInfo holds what applies to the whole reservation.
type ResGlobalInfo struct {
	Comments            []Comment            `xml:"Comments>Comment"`
	SpecialRequests     []Comment            `xml:"SpecialRequests>SpecialRequest"`
	Guarantee           *Guarantee           `xml:"Guarantee"`
	Total               *Amount              `xml:"Total"`
	HotelReservationIDs []HotelReservationID `xml:"HotelReservationIDs>HotelReservationID"`
	BasicPropertyInfo   *BasicPropertyInfo   `xml:"BasicPropertyInfo"`
}

// Comment is a free text; partners put it in Text or directly inside.
type Comment struct {
	Text  []string `xml:"Text"`
	Plain string   `xml:",chardata"`
}

// Guarantee is how the reservation is secured.
type Guarantee struct {
	GuaranteeType string        `xml:"GuaranteeType,attr,omitempty"`
	PaymentCards  []PaymentCard `xml:"GuaranteesAccepted>GuaranteeAccepted>PaymentCard"`
}

// PaymentCard is a card guarantee. Roomwire keeps its token and mask only.
type PaymentCard struct {
	CardCode       string      `xml:"CardCode,attr,omitempty"`
	ExpireDate     string      `xml:"ExpireDate,attr,omitempty"`
	CardNumberAttr string      `xml:"CardNumber,attr,omitempty"` // older partners' form: a full number
	CardHolderName string      `xml:"CardHolderName,omitempty"`
	CardNumber     *CardNumber `xml:"CardNumber"`
}

// CardNumber is a tokenized card number, with its mask.
type CardNumber struct {
	Mask            string `xml:"Mask,attr,omitempty"`
	Token           string `xml:"Token,attr,omitempty"`
	TokenProviderID string `xml:"TokenProviderID,attr,omitempty"`
	PlainText       string `xml:"PlainText,omitempty"`
}

// HotelReservationID is an id of the reservation; ResID_Type 14 is the
// channel's, 10 the hotel's (Roomwire's confirmation reference).
type HotelReservationID struct {
	ResIDType   string `xml:"ResID_Type,attr,omitempty"`
	ResIDValue  string `xml:"ResID_Value,attr,omitempty"`
	ResIDSource string `xml:"ResID_Source,attr,omitempty"`
}

// ResNotifRS is OTA_HotelResNotifRS (or OTA_HotelResModifyNotifRS): Success
// with the reservations' ids, or Errors.
type ResNotifRS struct {
	XMLName           xml.Name
	Version           string          `xml:"Version,attr,omitempty"`
	EchoToken         string          `xml:"EchoToken,attr,omitempty"`
	TimeStamp         string          `xml:"TimeStamp,attr,omitempty"`
	Success           *struct{}       `xml:"Success"`
	Warnings          []Error         `xml:"Warnings>Warning"`
	Errors            []Error         `xml:"Errors>Error"`
	HotelReservations []ReservationRS `xml:"HotelReservations>HotelReservation"`
	HotelResModifies  []ReservationRS `xml:"HotelResModifies>HotelResModify"`
}

// ReservationRS is one reservation in a reply.
type ReservationRS struct {
	UniqueID            *UniqueID            `xml:"UniqueID"`
	HotelReservationIDs []HotelReservationID `xml:"ResGlobalInfo>HotelReservationIDs>HotelReservationID"`
}

// Error is an OTA error or warning: Type (1 unknown, 3 business rule,
// 4 authentication, 10 required field missing, 12 processing exception,
// 13 application error) and Code (from the OTA ERR list) with a text.
type Error struct {
	Type      string `xml:"Type,attr,omitempty"`
	Code      string `xml:"Code,attr,omitempty"`
	ShortText string `xml:"ShortText,attr,omitempty"`
	Text      string `xml:",chardata"`
}

// GenericRS is the reply to an ARI notification: Success, or Errors.
type GenericRS struct {
	XMLName   xml.Name
	Version   string    `xml:"Version,attr,omitempty"`
	EchoToken string    `xml:"EchoToken,attr,omitempty"`
	TimeStamp string    `xml:"TimeStamp,attr,omitempty"`
	Success   *struct{} `xml:"Success"`
	Warnings  []Error   `xml:"Warnings>Warning"`
	Errors    []Error   `xml:"Errors>Error"`
}

// AvailNotifRQ is OTA_HotelAvailNotifRQ: booking limits and restrictions.
type AvailNotifRQ struct {
	XMLName   xml.Name
	Version   string              `xml:"Version,attr,omitempty"`
	EchoToken string              `xml:"EchoToken,attr,omitempty"`
	TimeStamp string              `xml:"TimeStamp,attr,omitempty"`
	POS       *POS                `xml:"POS"`
	Messages  AvailStatusMessages `xml:"AvailStatusMessages"`
}

// AvailStatusMessages are the messages of one hotel.
type AvailStatusMessages struct {
	HotelCode string               `xml:"HotelCode,attr"`
	List      []AvailStatusMessage `xml:"AvailStatusMessage"`
}

// AvailStatusMessage sets a booking limit or restrictions for a span.
type AvailStatusMessage struct {
	BookingLimit             string                   `xml:"BookingLimit,attr,omitempty"`
	StatusApplicationControl StatusApplicationControl `xml:"StatusApplicationControl"`
	LengthsOfStay            []LengthOfStay           `xml:"LengthsOfStay>LengthOfStay"`
	RestrictionStatus        []RestrictionStatus      `xml:"RestrictionStatus"`
}

// StatusApplicationControl says what a message applies to: the nights Start
// to End (both included), a room type and a rate plan.
type StatusApplicationControl struct {
	Start        string `xml:"Start,attr"`
	End          string `xml:"End,attr"`
	InvTypeCode  string `xml:"InvTypeCode,attr,omitempty"`
	RatePlanCode string `xml:"RatePlanCode,attr,omitempty"`
}

// LengthOfStay is a minimum or maximum stay.
type LengthOfStay struct {
	Time              string `xml:"Time,attr"`
	TimeUnit          string `xml:"TimeUnit,attr,omitempty"`
	MinMaxMessageType string `xml:"MinMaxMessageType,attr"`
}

// RestrictionStatus opens or closes sales (Restriction Master), arrivals
// (Arrival) or departures (Departure).
type RestrictionStatus struct {
	Restriction string `xml:"Restriction,attr,omitempty"`
	Status      string `xml:"Status,attr"`
}

// InvCountNotifRQ is OTA_HotelInvCountNotifRQ: rooms left to sell.
type InvCountNotifRQ struct {
	XMLName     xml.Name
	Version     string      `xml:"Version,attr,omitempty"`
	EchoToken   string      `xml:"EchoToken,attr,omitempty"`
	TimeStamp   string      `xml:"TimeStamp,attr,omitempty"`
	POS         *POS        `xml:"POS"`
	Inventories Inventories `xml:"Inventories"`
}

// Inventories are the counts of one hotel.
type Inventories struct {
	HotelCode string      `xml:"HotelCode,attr"`
	List      []Inventory `xml:"Inventory"`
}

// Inventory is the count of one room type for a span.
type Inventory struct {
	StatusApplicationControl StatusApplicationControl `xml:"StatusApplicationControl"`
	InvCounts                []InvCount               `xml:"InvCounts>InvCount"`
}

// InvCount is a count; CountType 2 is rooms available.
type InvCount struct {
	CountType string `xml:"CountType,attr"`
	Count     string `xml:"Count,attr"`
}

// RateAmountNotifRQ is OTA_HotelRateAmountNotifRQ: nightly prices.
type RateAmountNotifRQ struct {
	XMLName   xml.Name
	Version   string             `xml:"Version,attr,omitempty"`
	EchoToken string             `xml:"EchoToken,attr,omitempty"`
	TimeStamp string             `xml:"TimeStamp,attr,omitempty"`
	NotifType string             `xml:"NotifType,attr,omitempty"`
	POS       *POS               `xml:"POS"`
	Messages  RateAmountMessages `xml:"RateAmountMessages"`
}

// RateAmountMessages are the prices of one hotel.
type RateAmountMessages struct {
	HotelCode string              `xml:"HotelCode,attr"`
	List      []RateAmountMessage `xml:"RateAmountMessage"`
}

// RateAmountMessage prices a rate plan of a room type for a span.
type RateAmountMessage struct {
	StatusApplicationControl StatusApplicationControl `xml:"StatusApplicationControl"`
	Rates                    []RateAmount             `xml:"Rates>Rate"`
}

// RateAmount is a price by number of guests, with the amounts of guests
// beyond them.
type RateAmount struct {
	BaseByGuestAmts        []BaseByGuestAmt        `xml:"BaseByGuestAmts>BaseByGuestAmt"`
	AdditionalGuestAmounts []AdditionalGuestAmount `xml:"AdditionalGuestAmounts>AdditionalGuestAmount,omitempty"`
}

// AdditionalGuestAmount is the nightly amount of each extra adult
// (AgeQualifyingCode 10) or child (8).
type AdditionalGuestAmount struct {
	AgeQualifyingCode string `xml:"AgeQualifyingCode,attr"`
	Amount            string `xml:"Amount,attr"`
	CurrencyCode      string `xml:"CurrencyCode,attr,omitempty"`
}

// The AgeQualifyingCode values Roomwire reads and writes.
const (
	AgeAdult = "10"
	AgeChild = "8"
)

// BaseByGuestAmt is the nightly price for a number of guests (none: the
// rate plan's standard occupancy).
type BaseByGuestAmt struct {
	NumberOfGuests    string `xml:"NumberOfGuests,attr,omitempty"`
	AgeQualifyingCode string `xml:"AgeQualifyingCode,attr,omitempty"`
	AmountBeforeTax   string `xml:"AmountBeforeTax,attr,omitempty"`
	AmountAfterTax    string `xml:"AmountAfterTax,attr,omitempty"`
	CurrencyCode      string `xml:"CurrencyCode,attr,omitempty"`
}

// The lists of a reply as elements of their own, each left out when empty:
// encoding/xml writes the parent of an a>b field even for an empty list, and
// an empty <Errors/> beside <Success/> breaks the schema's choice of the two.
type (
	warningList struct {
		Items []Error `xml:"Warning"`
	}
	errorList struct {
		Items []Error `xml:"Error"`
	}
	reservationList struct {
		Items []ReservationRS `xml:"HotelReservation"`
	}
	modifyList struct {
		Items []ReservationRS `xml:"HotelResModify"`
	}
)

func listOf[L any, T any](items []T, wrap func([]T) *L) *L {
	if len(items) == 0 {
		return nil
	}
	return wrap(items)
}

// MarshalXML writes the reply without empty Warnings, Errors or reservation lists.
func (rs ResNotifRS) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	out := struct {
		XMLName           xml.Name
		Version           string           `xml:"Version,attr,omitempty"`
		EchoToken         string           `xml:"EchoToken,attr,omitempty"`
		TimeStamp         string           `xml:"TimeStamp,attr,omitempty"`
		Success           *struct{}        `xml:"Success"`
		Warnings          *warningList     `xml:"Warnings"`
		Errors            *errorList       `xml:"Errors"`
		HotelReservations *reservationList `xml:"HotelReservations"`
		HotelResModifies  *modifyList      `xml:"HotelResModifies"`
	}{
		XMLName: rs.XMLName, Version: rs.Version, EchoToken: rs.EchoToken, TimeStamp: rs.TimeStamp, Success: rs.Success,
		Warnings:          listOf(rs.Warnings, func(l []Error) *warningList { return &warningList{l} }),
		Errors:            listOf(rs.Errors, func(l []Error) *errorList { return &errorList{l} }),
		HotelReservations: listOf(rs.HotelReservations, func(l []ReservationRS) *reservationList { return &reservationList{l} }),
		HotelResModifies:  listOf(rs.HotelResModifies, func(l []ReservationRS) *modifyList { return &modifyList{l} }),
	}
	if out.XMLName.Local == "" {
		out.XMLName = start.Name
	}
	return e.Encode(out)
}

// MarshalXML writes the reply without empty Warnings or Errors.
func (rs GenericRS) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	out := struct {
		XMLName   xml.Name
		Version   string       `xml:"Version,attr,omitempty"`
		EchoToken string       `xml:"EchoToken,attr,omitempty"`
		TimeStamp string       `xml:"TimeStamp,attr,omitempty"`
		Success   *struct{}    `xml:"Success"`
		Warnings  *warningList `xml:"Warnings"`
		Errors    *errorList   `xml:"Errors"`
	}{
		XMLName: rs.XMLName, Version: rs.Version, EchoToken: rs.EchoToken, TimeStamp: rs.TimeStamp, Success: rs.Success,
		Warnings: listOf(rs.Warnings, func(l []Error) *warningList { return &warningList{l} }),
		Errors:   listOf(rs.Errors, func(l []Error) *errorList { return &errorList{l} }),
	}
	if out.XMLName.Local == "" {
		out.XMLName = start.Name
	}
	return e.Encode(out)
}
