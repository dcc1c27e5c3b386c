package connectors

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Bounds on partner XML. An OTA or QuickConnect message is a few kilobytes;
// a document near these limits is a mistake or an attack.
const (
	// MaxXMLDepth bounds element nesting; OTA_HotelResNotifRQ needs about 12.
	MaxXMLDepth = 32
	// MaxXMLTokens bounds the elements, attributes and text runs of one message.
	MaxXMLTokens = 200_000
)

// XMLName is an expected root element: its namespace and local name.
type XMLName = xml.Name

// CheckXML runs the safety checks DecodeXML runs and returns the root
// element's name: data is at most MaxMessageBytes, UTF-8, free of DTDs,
// entity declarations and any other <!...> directive, nested at most
// MaxXMLDepth deep, one root element and nothing but comments and white space
// after it. Its errors are permanent and say where the problem is.
func CheckXML(data []byte) (xml.Name, error) {
	if len(data) > MaxMessageBytes {
		return xml.Name{}, Permanent(fmt.Errorf("message is %d bytes; at most %d are allowed", len(data), MaxMessageBytes))
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return xml.Name{}, Permanent(errors.New("empty input: expected an XML document"))
	}
	dec := newXMLDecoder(data)
	depth, tokens, roots := 0, 0, 0
	for {
		tok, err := dec.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			return xml.Name{}, Permanent(describeXMLError(dec, data, err))
		}
		tokens++
		if tokens > MaxXMLTokens {
			return xml.Name{}, Permanent(fmt.Errorf("%s: more than %d XML tokens", xmlPos(dec), MaxXMLTokens))
		}
		switch t := tok.(type) {
		case xml.Directive:
			// DOCTYPE, ENTITY and the like: no partner needs them, and they are
			// how entity expansion and external entity attacks begin.
			return xml.Name{}, Permanent(fmt.Errorf("%s: DTDs and <!...> declarations are not accepted", xmlPos(dec)))
		case xml.ProcInst:
			if t.Target == "xml" && tokens > 1 {
				return xml.Name{}, Permanent(fmt.Errorf("%s: misplaced XML declaration", xmlPos(dec)))
			}
		case xml.StartElement:
			tokens += len(t.Attr)
			if depth == 0 {
				roots++
				if roots > 1 {
					return xml.Name{}, Permanent(fmt.Errorf("%s: unexpected element <%s> after the document's root element", xmlPos(dec), safeText(t.Name.Local, 60)))
				}
			}
			depth++
			if depth > MaxXMLDepth {
				return xml.Name{}, Permanent(fmt.Errorf("%s: XML nested deeper than %d levels", xmlPos(dec), MaxXMLDepth))
			}
		case xml.EndElement:
			depth--
		case xml.CharData:
			if depth == 0 && len(bytes.TrimSpace(t)) > 0 {
				return xml.Name{}, Permanent(fmt.Errorf("%s: text outside the root element", xmlPos(dec)))
			}
		}
	}
	if roots == 0 {
		return xml.Name{}, Permanent(errors.New("no root element: expected an XML document"))
	}
	if depth != 0 {
		return xml.Name{}, Permanent(fmt.Errorf("%s: the XML document is truncated", xmlPos(dec)))
	}
	// RawToken does not resolve prefixes; read the root again with Token.
	dec = newXMLDecoder(data)
	for {
		tok, err := dec.Token()
		if err != nil {
			return xml.Name{}, Permanent(describeXMLError(dec, data, err))
		}
		if se, ok := tok.(xml.StartElement); ok {
			return se.Name, nil
		}
	}
}

// DecodeXML checks data as CheckXML does, requires its root element to be
// one of roots (namespace and local name; an empty namespace in roots
// accepts any), and decodes it into v. It returns the root's name, so that a
// caller accepting several roots knows which it got.
func DecodeXML(data []byte, v any, roots ...xml.Name) (xml.Name, error) {
	root, err := CheckXML(data)
	if err != nil {
		return root, err
	}
	if err := CheckXMLRoot(root, roots...); err != nil {
		return root, err
	}
	dec := newXMLDecoder(data)
	if err := dec.Decode(v); err != nil {
		return root, Permanent(describeXMLError(dec, data, err))
	}
	return root, nil
}

// CheckXMLRoot fails permanently unless root is one of roots.
func CheckXMLRoot(root xml.Name, roots ...xml.Name) error {
	for _, r := range roots {
		if r.Local == root.Local && (r.Space == "" || r.Space == root.Space) {
			return nil
		}
	}
	var want []string
	for _, r := range roots {
		want = append(want, describeName(r))
	}
	return Permanent(fmt.Errorf("root element is %s; expected %s", describeName(root), strings.Join(want, " or ")))
}

func describeName(n xml.Name) string {
	if n.Space == "" {
		return "<" + safeText(n.Local, 60) + "> (no namespace)"
	}
	return fmt.Sprintf("<%s> in namespace %s", safeText(n.Local, 60), safeText(n.Space, 100))
}

func newXMLDecoder(data []byte) *xml.Decoder {
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = true
	// No CharsetReader: anything but UTF-8 (or US-ASCII) is refused.
	dec.Entity = nil
	return dec
}

func xmlPos(dec *xml.Decoder) string {
	line, col := dec.InputPos()
	return fmt.Sprintf("line %d, column %d", line, col)
}

// describeXMLError turns a decoding error into one line naming the place.
func describeXMLError(dec *xml.Decoder, data []byte, err error) error {
	var syn *xml.SyntaxError
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%s: the XML document is truncated", xmlPos(dec))
	case errors.As(err, &syn):
		msg := syn.Msg
		if strings.Contains(msg, "unexpected EOF") {
			return fmt.Errorf("%s: the XML document is truncated", xmlPos(dec))
		}
		return fmt.Errorf("line %d: malformed XML: %s", syn.Line, safeText(msg, 200))
	}
	var unsup xml.UnmarshalError
	if errors.As(err, &unsup) {
		return fmt.Errorf("%s: %s", xmlPos(dec), safeText(string(unsup), 200))
	}
	// The XML declaration's checks answer in the terms of Go's decoder.
	msg := err.Error()
	if enc, ok := quotedAfter(msg, "xml: encoding "); ok {
		return fmt.Errorf("%s: the XML declaration declares encoding %q; send it in UTF-8 (encoding=\"UTF-8\"), the only encoding accepted", xmlPos(dec), safeText(enc, 40))
	}
	if ver, ok := quotedAfter(msg, "xml: unsupported version "); ok {
		return fmt.Errorf("%s: the XML declaration declares version %q; only XML 1.0 is accepted", xmlPos(dec), safeText(ver, 20))
	}
	return fmt.Errorf("%s: the XML document cannot be read", xmlPos(dec))
}

// quotedAfter returns the Go-quoted string that follows prefix in msg.
func quotedAfter(msg, prefix string) (string, bool) {
	rest, ok := strings.CutPrefix(msg, prefix)
	if !ok {
		return "", false
	}
	q, err := strconv.QuotedPrefix(rest)
	if err != nil {
		return "", false
	}
	s, err := strconv.Unquote(q)
	return s, err == nil
}
