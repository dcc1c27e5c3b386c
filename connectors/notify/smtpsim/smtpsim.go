// Package smtpsim is an SMTP relay for tests and the demo: it speaks real
// SMTP (RFC 5321) with STARTTLS and AUTH PLAIN, keeps every message it
// accepts in memory, and can be told to fail: temporary refusals (4xx) and
// dropped connections, always before it has accepted a message, as a relay
// that is overloaded or restarting would.
package smtpsim

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	mathrand "math/rand/v2"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"time"
)

// Message is one message the relay accepted.
type Message struct {
	From       string
	To         []string
	Data       []byte // as received, headers and body
	ReceivedAt time.Time
	TLS        bool   // sent after STARTTLS
	User       string // authenticated as
}

// Header returns a header of the message, MIME-decoded.
func (m Message) Header(name string) string {
	msg, err := mail.ReadMessage(bytes.NewReader(m.Data))
	if err != nil {
		return ""
	}
	v := msg.Header.Get(name)
	if d, err := new(mime.WordDecoder).DecodeHeader(v); err == nil {
		return d
	}
	return v
}

// MessageID returns the Message-ID header without angle brackets.
func (m Message) MessageID() string { return strings.Trim(m.Header("Message-ID"), "<>") }

// Part returns the decoded body of the first part of media type ctype
// ("text/plain", "text/html").
func (m Message) Part(ctype string) string {
	msg, err := mail.ReadMessage(bytes.NewReader(m.Data))
	if err != nil {
		return ""
	}
	mt, params, _ := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if mt == ctype {
		return decodeBody(msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
	}
	if !strings.HasPrefix(mt, "multipart/") {
		return ""
	}
	r := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := r.NextRawPart()
		if err != nil {
			return ""
		}
		if pt, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type")); pt == ctype {
			return decodeBody(p.Header.Get("Content-Transfer-Encoding"), p)
		}
	}
}

func decodeBody(cte string, r io.Reader) string {
	if strings.EqualFold(cte, "quoted-printable") {
		r = quotedprintable.NewReader(r)
	}
	b, _ := io.ReadAll(r)
	return string(b)
}

// Faults makes the relay fail some conversations on purpose.
type Faults struct {
	// TempFailRate is the share of messages refused with 451 at the end
	// of DATA (not accepted; the sender must retry).
	TempFailRate float64
	// DropRate is the share of conversations cut after RCPT, without a word.
	DropRate float64
	// Down refuses every connection with 421.
	Down bool
}

// Server is a running relay.
type Server struct {
	ln        net.Listener
	tlsConfig *tls.Config
	certPEM   []byte
	users     map[string]string

	mu       sync.Mutex
	faults   Faults
	failed   int // conversations failed on purpose
	messages []Message
	conns    sync.WaitGroup
	closed   bool
}

// Options configures a relay.
type Options struct {
	// Users may authenticate (user -> password). When set, a sender must
	// authenticate (after STARTTLS) before MAIL.
	Users map[string]string
}

// Start listens on addr ("127.0.0.1:0" for any free port).
func Start(addr string, opts Options) (*Server, error) {
	cert, certPEM, err := selfSigned()
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &Server{ln: ln, users: opts.Users, certPEM: certPEM,
		tlsConfig: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}}
	go s.serve()
	return s, nil
}

// Addr is where the relay listens.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Host and Port split Addr.
func (s *Server) Host() string { h, _, _ := net.SplitHostPort(s.Addr()); return h }

// Port is the relay's TCP port.
func (s *Server) Port() int { return s.ln.Addr().(*net.TCPAddr).Port }

// CertPEM is the relay's self-signed certificate, for a sender's trust store.
func (s *Server) CertPEM() []byte { return s.certPEM }

// CertPool trusts the relay's certificate.
func (s *Server) CertPool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AppendCertsFromPEM(s.certPEM)
	return p
}

// SetFaults changes the faults from now on.
func (s *Server) SetFaults(f Faults) {
	s.mu.Lock()
	s.faults = f
	s.mu.Unlock()
}

// Failed returns how many conversations the faults failed.
func (s *Server) Failed() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failed
}

func (s *Server) countFailure() {
	s.mu.Lock()
	s.failed++
	s.mu.Unlock()
}

// Messages returns a copy of every accepted message, oldest first.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

// Close stops listening and waits for open conversations to end.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	err := s.ln.Close()
	s.conns.Wait()
	return err
}

func (s *Server) serve() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.conns.Add(1)
		go func() {
			defer s.conns.Done()
			defer c.Close()
			c.SetDeadline(time.Now().Add(2 * time.Minute)) //nolint:errcheck // bounds a stuck sender
			s.converse(c)
		}()
	}
}

func (s *Server) roll(rate float64) bool { return rate > 0 && mathrand.Float64() < rate }

// session is one SMTP conversation's state.
type session struct {
	conn    net.Conn
	r       *bufio.Reader
	w       *bufio.Writer
	tls     bool
	user    string
	from    string
	to      []string
	hasFrom bool
}

func (ss *session) reply(code int, text string) {
	fmt.Fprintf(ss.w, "%d %s\r\n", code, text)
	ss.w.Flush()
}

func (s *Server) converse(c net.Conn) {
	ss := &session{conn: c, r: bufio.NewReader(c), w: bufio.NewWriter(c)}
	s.mu.Lock()
	f := s.faults
	s.mu.Unlock()
	if f.Down {
		s.countFailure()
		ss.reply(421, "smtpsim: service not available, try later")
		return
	}
	ss.reply(220, "smtpsim ESMTP ready")
	for {
		line, err := ss.r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO", "HELO":
			ss.from, ss.to, ss.hasFrom = "", nil, false
			ext := []string{"smtpsim", "8BITMIME", "PIPELINING", "SIZE 10485760"}
			if !ss.tls {
				ext = append(ext, "STARTTLS")
			} else if s.users != nil {
				ext = append(ext, "AUTH PLAIN")
			}
			for i, e := range ext {
				sep := "-"
				if i == len(ext)-1 {
					sep = " "
				}
				fmt.Fprintf(ss.w, "250%s%s\r\n", sep, e)
			}
			ss.w.Flush()
		case "STARTTLS":
			if ss.tls {
				ss.reply(503, "5.5.1 already in TLS")
				continue
			}
			ss.reply(220, "2.0.0 ready to start TLS")
			tc := tls.Server(c, s.tlsConfig)
			if err := tc.Handshake(); err != nil {
				return
			}
			ss.conn, ss.r, ss.w, ss.tls = tc, bufio.NewReader(tc), bufio.NewWriter(tc), true
			ss.from, ss.to, ss.hasFrom, ss.user = "", nil, false, ""
		case "AUTH":
			s.auth(ss, arg)
		case "MAIL":
			if s.users != nil && ss.user == "" {
				ss.reply(530, "5.7.0 authentication required")
				continue
			}
			addr, ok := pathArg(arg, "FROM:")
			if !ok {
				ss.reply(501, "5.5.4 syntax: MAIL FROM:<address>")
				continue
			}
			ss.from, ss.to, ss.hasFrom = addr, nil, true
			ss.reply(250, "2.1.0 ok")
		case "RCPT":
			addr, ok := pathArg(arg, "TO:")
			switch {
			case !ss.hasFrom:
				ss.reply(503, "5.5.1 MAIL first")
			case !ok || !strings.Contains(addr, "@"):
				ss.reply(501, "5.1.3 syntax: RCPT TO:<address>")
			default:
				ss.to = append(ss.to, addr)
				ss.reply(250, "2.1.5 ok")
			}
		case "DATA":
			if len(ss.to) == 0 {
				ss.reply(503, "5.5.1 RCPT first")
				continue
			}
			if s.roll(f.DropRate) {
				s.countFailure()
				return // cut before the message: nothing was accepted
			}
			ss.reply(354, "end data with <CR><LF>.<CR><LF>")
			data, err := readData(ss.r)
			if err != nil {
				return
			}
			if s.roll(f.TempFailRate) {
				s.countFailure()
				ss.reply(451, "4.3.0 smtpsim: temporary failure, try again")
			} else {
				s.mu.Lock()
				s.messages = append(s.messages, Message{From: ss.from, To: ss.to, Data: data, ReceivedAt: time.Now(), TLS: ss.tls, User: ss.user})
				s.mu.Unlock()
				ss.reply(250, "2.0.0 queued")
			}
			ss.from, ss.to, ss.hasFrom = "", nil, false
		case "RSET":
			ss.from, ss.to, ss.hasFrom = "", nil, false
			ss.reply(250, "2.0.0 ok")
		case "NOOP":
			ss.reply(250, "2.0.0 ok")
		case "QUIT":
			ss.reply(221, "2.0.0 bye")
			return
		default:
			ss.reply(502, "5.5.2 command not implemented")
		}
	}
}

// auth handles AUTH PLAIN, with the credentials inline or on the next line.
func (s *Server) auth(ss *session, arg string) {
	mech, initial, _ := strings.Cut(arg, " ")
	switch {
	case !ss.tls:
		ss.reply(538, "5.7.11 encryption required: STARTTLS first")
		return
	case s.users == nil || !strings.EqualFold(mech, "PLAIN"):
		ss.reply(504, "5.5.4 mechanism not supported")
		return
	case ss.user != "":
		ss.reply(503, "5.5.1 already authenticated")
		return
	}
	if initial == "" {
		ss.reply(334, "")
		line, err := ss.r.ReadString('\n')
		if err != nil {
			return
		}
		initial = strings.TrimRight(line, "\r\n")
	}
	raw, err := base64.StdEncoding.DecodeString(initial)
	parts := strings.Split(string(raw), "\x00")
	if err != nil || len(parts) != 3 {
		ss.reply(501, "5.5.2 cannot decode credentials")
		return
	}
	if pw, ok := s.users[parts[1]]; !ok || pw != parts[2] {
		ss.reply(535, "5.7.8 authentication credentials invalid")
		return
	}
	ss.user = parts[1]
	ss.reply(235, "2.7.0 authenticated")
}

// pathArg reads "FROM:<a@b> PARAMS" into a@b.
func pathArg(arg, prefix string) (string, bool) {
	if len(arg) < len(prefix) || !strings.EqualFold(arg[:len(prefix)], prefix) {
		return "", false
	}
	rest := strings.TrimSpace(arg[len(prefix):])
	if !strings.HasPrefix(rest, "<") {
		return "", false
	}
	end := strings.IndexByte(rest, '>')
	if end < 0 {
		return "", false
	}
	return rest[1:end], true
}

// readData reads the message up to the lone dot, undoing dot-stuffing.
func readData(r *bufio.Reader) ([]byte, error) {
	var b bytes.Buffer
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return nil, err
		}
		if line == ".\r\n" || line == ".\n" {
			return b.Bytes(), nil
		}
		if strings.HasPrefix(line, ".") {
			line = line[1:]
		}
		b.WriteString(line)
		if b.Len() > 10<<20 {
			return nil, fmt.Errorf("message too large")
		}
	}
}

// selfSigned makes a certificate for localhost and 127.0.0.1.
func selfSigned() (tls.Certificate, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "smtpsim"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(30 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, certPEM, nil
}
