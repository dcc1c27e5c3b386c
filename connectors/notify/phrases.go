package notify

// phrases are the built-in templates' words, per language. A property's
// own templates (PUT /v1/properties/{id}/templates/{kind}/{language}) may
// use them too, as {{index .T "stay"}}.
var phrases = map[string]map[string]string{
	"en": {
		"confirmed_subject": "Your booking at {{.Property.Name}} is confirmed",
		"modified_subject":  "Your booking at {{.Property.Name}} has changed",
		"cancelled_subject": "Your booking at {{.Property.Name}} is cancelled",
		"hotel_subject":     "Booking {{.ConfirmationNumber}} {{.Event}}",
		"greeting":          "Dear",
		"confirmed":         "Thank you for your booking. We look forward to welcoming you.",
		"modified":          "Your booking has been changed. These are its details now.",
		"cancelled":         "Your booking has been cancelled.",
		"hotel_intro":       "A booking came in through",
		"confirmation":      "Confirmation number",
		"stay":              "Stay",
		"nights":            "nights",
		"room":              "Room",
		"adults":            "adults",
		"total":             "Total",
		"guest":             "Guest",
		"closing":           "Kind regards",
		"created":           "created",
		"changed":           "modified",
		"ended":             "cancelled",
	},
	"pt": {
		"confirmed_subject": "A sua reserva no {{.Property.Name}} está confirmada",
		"modified_subject":  "A sua reserva no {{.Property.Name}} foi alterada",
		"cancelled_subject": "A sua reserva no {{.Property.Name}} foi cancelada",
		"hotel_subject":     "Reserva {{.ConfirmationNumber}} {{.Event}}",
		"greeting":          "Caro(a)",
		"confirmed":         "Obrigado pela sua reserva. Esperamos recebê-lo(a) em breve.",
		"modified":          "A sua reserva foi alterada. Estes são os dados atuais.",
		"cancelled":         "A sua reserva foi cancelada.",
		"hotel_intro":       "Chegou uma reserva através de",
		"confirmation":      "Número de confirmação",
		"stay":              "Estadia",
		"nights":            "noites",
		"room":              "Quarto",
		"adults":            "adultos",
		"total":             "Total",
		"guest":             "Hóspede",
		"closing":           "Com os melhores cumprimentos",
		"created":           "criada",
		"changed":           "alterada",
		"ended":             "cancelada",
	},
	"de": {
		"confirmed_subject": "Ihre Buchung im {{.Property.Name}} ist bestätigt",
		"modified_subject":  "Ihre Buchung im {{.Property.Name}} wurde geändert",
		"cancelled_subject": "Ihre Buchung im {{.Property.Name}} wurde storniert",
		"hotel_subject":     "Buchung {{.ConfirmationNumber}} {{.Event}}",
		"greeting":          "Guten Tag",
		"confirmed":         "Vielen Dank für Ihre Buchung. Wir freuen uns auf Ihren Besuch.",
		"modified":          "Ihre Buchung wurde geändert. Dies sind die aktuellen Angaben.",
		"cancelled":         "Ihre Buchung wurde storniert.",
		"hotel_intro":       "Eine Buchung kam über",
		"confirmation":      "Bestätigungsnummer",
		"stay":              "Aufenthalt",
		"nights":            "Nächte",
		"room":              "Zimmer",
		"adults":            "Erwachsene",
		"total":             "Gesamt",
		"guest":             "Gast",
		"closing":           "Mit freundlichen Grüßen",
		"created":           "angelegt",
		"changed":           "geändert",
		"ended":             "storniert",
	},
	"fr": {
		"confirmed_subject": "Votre réservation au {{.Property.Name}} est confirmée",
		"modified_subject":  "Votre réservation au {{.Property.Name}} a été modifiée",
		"cancelled_subject": "Votre réservation au {{.Property.Name}} est annulée",
		"hotel_subject":     "Réservation {{.ConfirmationNumber}} {{.Event}}",
		"greeting":          "Bonjour",
		"confirmed":         "Merci pour votre réservation. Nous avons hâte de vous accueillir.",
		"modified":          "Votre réservation a été modifiée. Voici ses détails.",
		"cancelled":         "Votre réservation a été annulée.",
		"hotel_intro":       "Une réservation est arrivée par",
		"confirmation":      "Numéro de confirmation",
		"stay":              "Séjour",
		"nights":            "nuits",
		"room":              "Chambre",
		"adults":            "adultes",
		"total":             "Total",
		"guest":             "Client",
		"closing":           "Cordialement",
		"created":           "créée",
		"changed":           "modifiée",
		"ended":             "annulée",
	},
	"es": {
		"confirmed_subject": "Su reserva en {{.Property.Name}} está confirmada",
		"modified_subject":  "Su reserva en {{.Property.Name}} ha cambiado",
		"cancelled_subject": "Su reserva en {{.Property.Name}} está cancelada",
		"hotel_subject":     "Reserva {{.ConfirmationNumber}} {{.Event}}",
		"greeting":          "Estimado/a",
		"confirmed":         "Gracias por su reserva. Le esperamos con ilusión.",
		"modified":          "Su reserva ha cambiado. Estos son sus datos actuales.",
		"cancelled":         "Su reserva ha sido cancelada.",
		"hotel_intro":       "Ha llegado una reserva a través de",
		"confirmation":      "Número de confirmación",
		"stay":              "Estancia",
		"nights":            "noches",
		"room":              "Habitación",
		"adults":            "adultos",
		"total":             "Total",
		"guest":             "Huésped",
		"closing":           "Atentamente",
		"created":           "creada",
		"changed":           "modificada",
		"ended":             "cancelada",
	},
}

// Built-in bodies, shared by every language through .T. The subject is
// the language's own phrase, itself a template.
const (
	builtinGuestText = `{{index .T "greeting"}} {{.Guest.GivenName}} {{.Guest.Surname}},

{{index .T .Lead}}

{{index .T "confirmation"}}: {{.ConfirmationNumber}}
{{index .T "stay"}}: {{.Arrival}} – {{.Departure}} ({{.Nights}} {{index .T "nights"}})
{{range .Rooms}}{{index $.T "room"}}: {{.RoomType}} / {{.RatePlan}}, {{.Adults}} {{index $.T "adults"}}
{{end}}{{index .T "total"}}: {{.Total}}

{{index .T "closing"}},
{{.Property.Name}}
`
	builtinGuestHTML = `<!doctype html>
<html lang="{{.Language}}"><body>
<p>{{index .T "greeting"}} {{.Guest.GivenName}} {{.Guest.Surname}},</p>
<p>{{index .T .Lead}}</p>
<table>
<tr><th align="left">{{index .T "confirmation"}}</th><td><strong>{{.ConfirmationNumber}}</strong></td></tr>
<tr><th align="left">{{index .T "stay"}}</th><td>{{.Arrival}} – {{.Departure}} ({{.Nights}} {{index .T "nights"}})</td></tr>
{{range .Rooms}}<tr><th align="left">{{index $.T "room"}}</th><td>{{.RoomType}} / {{.RatePlan}}, {{.Adults}} {{index $.T "adults"}}</td></tr>
{{end}}<tr><th align="left">{{index .T "total"}}</th><td>{{.Total}}</td></tr>
</table>
<p>{{index .T "closing"}},<br>{{.Property.Name}}</p>
</body></html>
`
	builtinHotelText = `{{index .T "hotel_intro"}} {{.Channel}}: {{.Event}}

{{index .T "confirmation"}}: {{.ConfirmationNumber}}
{{index .T "guest"}}: {{.Guest.GivenName}} {{.Guest.Surname}}
{{index .T "stay"}}: {{.Arrival}} – {{.Departure}} ({{.Nights}} {{index .T "nights"}})
{{range .Rooms}}{{index $.T "room"}}: {{.RoomType}} / {{.RatePlan}}, {{.Adults}} {{index $.T "adults"}}
{{end}}{{index .T "total"}}: {{.Total}}
`
	builtinHotelHTML = `<!doctype html>
<html lang="{{.Language}}"><body>
<p>{{index .T "hotel_intro"}} {{.Channel}}: <strong>{{.Event}}</strong></p>
<table>
<tr><th align="left">{{index .T "confirmation"}}</th><td><strong>{{.ConfirmationNumber}}</strong></td></tr>
<tr><th align="left">{{index .T "guest"}}</th><td>{{.Guest.GivenName}} {{.Guest.Surname}}</td></tr>
<tr><th align="left">{{index .T "stay"}}</th><td>{{.Arrival}} – {{.Departure}} ({{.Nights}} {{index .T "nights"}})</td></tr>
{{range .Rooms}}<tr><th align="left">{{index $.T "room"}}</th><td>{{.RoomType}} / {{.RatePlan}}, {{.Adults}} {{index $.T "adults"}}</td></tr>
{{end}}<tr><th align="left">{{index .T "total"}}</th><td>{{.Total}}</td></tr>
</table>
</body></html>
`
)
