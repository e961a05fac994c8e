// Package capture stands in for LINE, SendGrid, the SQS queues and S3's PutObject on one
// local HTTP server: it answers their send endpoints as they do (LINE's
// retry-key 409 included) and writes each exact request body as a JSON file
// under an outbox folder, so a local run or a test can read what would have
// gone out.
package capture

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Fault may answer a request instead of the stand-in (tests use it for 429s,
// 5xx and lost answers). It returns false to let the request through.
type Fault func(w http.ResponseWriter, r *http.Request, body []byte) bool

// SetFault installs (or, with nil, removes) a fault.
func (s *Server) SetFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fault = f
}

// Request is one captured request.
type Request struct {
	Provider string // "line", "email", "sqs" or "s3"
	Path     string
	Header   http.Header
	Body     []byte
	File     string // where the body was written; "" without an outbox
}

// Server is the capture server's handler.
type Server struct {
	// Outbox is the folder the bodies go to, in line/, email/ and sqs/; "" keeps them in memory only.
	Outbox   string
	mu       sync.Mutex
	fault    Fault
	requests []Request
	accepted map[string]string // LINE retry key → accepted request id
	replied  map[string]bool   // LINE reply tokens used
	seq      int
	// Processed, when set, receives the SendGrid "processed" event of every
	// email accepted, as SendGrid's event webhook would post it (custom_args
	// as top-level fields): the local run settles ambiguous sends with it.
	Processed func(event json.RawMessage)
	// Quota is the channel's monthly LINE message quota (0: none), which
	// GET /v2/bot/message/quota reports; LINE messages accepted count
	// against it (a multicast, one per friend), as consumption reports.
	Quota int64
	used  int64
}

// SetQuota sets the LINE quota and what it has used this month.
func (s *Server) SetQuota(limit, used int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Quota, s.used = limit, used
}

const maxBody = 2 << 20 // LINE's request limit; SendGrid's is larger but our mails are small

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil || len(body) > maxBody {
		writeJSON(w, http.StatusRequestEntityTooLarge, map[string]string{"message": "The request body is too large"})
		return
	}
	if strings.HasPrefix(r.Header.Get("X-Amz-Target"), "AmazonSQS.") {
		s.sqs(w, r, body) // AWS signs requests; the signature is not checked here
		return
	}
	if strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
		s.s3(w, r, body) // any other signed request is for S3
		return
	}
	if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "Authentication failed"})
		return
	}
	if r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/v2/bot/message/quota") {
		s.quota(w, r)
		return
	}
	if r.Method == http.MethodDelete && strings.HasPrefix(r.URL.Path, "/v3/asm/groups/") {
		// An unsubscribe group's suppression taken off (no body), as SendGrid answers it.
		if err := s.record("sendgrid-asm", r, body); err != nil {
			writeJSON(w, http.StatusInternalServerError, map[string]string{"message": err.Error()})
			return
		}
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if !json.Valid(body) {
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": "The request body has 1 error(s)"})
		return
	}
	s.mu.Lock()
	fault := s.fault
	s.mu.Unlock()
	if fault != nil && fault(w, r, body) {
		return
	}
	switch {
	case r.Method == http.MethodPost && (r.URL.Path == "/v2/bot/message/push" || r.URL.Path == "/v2/bot/message/multicast"):
		s.line(w, r, body)
	case r.Method == http.MethodPost && r.URL.Path == "/v2/bot/message/reply":
		s.reply(w, r, body)
	case r.Method == http.MethodPost && r.URL.Path == "/v3/mail/send":
		s.mail(w, r, body)

	default:
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "Not found"})
	}
}

func (s *Server) line(w http.ResponseWriter, r *http.Request, body []byte) {
	key := r.Header.Get("X-Line-Retry-Key")
	s.mu.Lock()
	if s.accepted == nil {
		s.accepted = map[string]string{}
	}
	if id, dup := s.accepted[key]; key != "" && dup {
		s.mu.Unlock()
		// As LINE: a request repeated with an accepted retry key is not delivered again.
		w.Header().Set("X-Line-Accepted-Request-Id", id)
		writeJSON(w, http.StatusConflict, map[string]string{"message": "The retry key is already accepted"})
		return
	}
	id := newID()
	if key != "" {
		s.accepted[key] = id
	}
	s.mu.Unlock()
	if err := s.record("line", r, body); err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"message": err.Error()})
		return
	}
	w.Header().Set("X-Line-Request-Id", id)
	if r.URL.Path == "/v2/bot/message/multicast" {
		var m struct {
			To []string `json:"to"`
		}
		_ = json.Unmarshal(body, &m)
		s.mu.Lock()
		s.used += int64(len(m.To))
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]any{})
		return
	}
	s.mu.Lock()
	s.used++
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"sentMessages": []map[string]string{{"id": id, "quoteToken": newID()}}})
}

// reply answers as LINE does: a reply token works once.
func (s *Server) reply(w http.ResponseWriter, r *http.Request, body []byte) {
	var req struct {
		ReplyToken string `json:"replyToken"`
	}
	_ = json.Unmarshal(body, &req)
	s.mu.Lock()
	if s.replied == nil {
		s.replied = map[string]bool{}
	}
	used := req.ReplyToken == "" || s.replied[req.ReplyToken]
	s.replied[req.ReplyToken] = true
	s.mu.Unlock()
	if used {
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": "Invalid reply token"})
		return
	}
	if err := s.record("line", r, body); err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"message": err.Error()})
		return
	}
	w.Header().Set("X-Line-Request-Id", newID())
	writeJSON(w, http.StatusOK, map[string]any{"sentMessages": []map[string]string{{"id": newID(), "quoteToken": newID()}}})
}

func (s *Server) mail(w http.ResponseWriter, r *http.Request, body []byte) {
	id, err := s.AcceptMail(r, body)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]any{"errors": []map[string]string{{"message": err.Error()}}})
		return
	}
	w.Header().Set("X-Message-Id", id)
	w.WriteHeader(http.StatusAccepted)
}

// AcceptMail takes an email as SendGrid does: it is recorded, and its
// processed event goes to Processed. Faults use it to accept a mail and then
// lose the answer.
func (s *Server) AcceptMail(r *http.Request, body []byte) (id string, err error) {
	if err := s.record("email", r, body); err != nil {
		return "", err
	}
	id = newID()
	if s.Processed != nil {
		s.Processed(processedEvent(id, body))
	}
	return id, nil
}

// processedEvent is SendGrid's processed event for a mail send body.
func processedEvent(id string, body []byte) json.RawMessage {
	var m struct {
		Personalizations []struct {
			To []struct {
				Email string `json:"email"`
			} `json:"to"`
		} `json:"personalizations"`
		CustomArgs map[string]string `json:"custom_args"`
	}
	_ = json.Unmarshal(body, &m)
	ev := map[string]any{"event": "processed", "sg_event_id": newID(), "sg_message_id": id + ".filter", "timestamp": time.Now().Unix()}
	if len(m.Personalizations) > 0 && len(m.Personalizations[0].To) > 0 {
		ev["email"] = m.Personalizations[0].To[0].Email
	}
	for k, v := range m.CustomArgs {
		ev[k] = v
	}
	b, _ := json.Marshal(ev)
	return b
}

func (s *Server) record(provider string, r *http.Request, body []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	req := Request{Provider: provider, Path: r.URL.Path, Header: r.Header.Clone(), Body: body}
	if s.Outbox != "" {
		dir := filepath.Join(s.Outbox, provider)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		// Time first so files sort in send order across runs; never overwrite.
		req.File = filepath.Join(dir, fmt.Sprintf("%s-%04d.json", time.Now().UTC().Format("20060102T150405.000000"), s.seq))
		if err := os.WriteFile(req.File, body, 0o644); err != nil {
			return err
		}
	}
	s.requests = append(s.requests, req)
	return nil
}

// Requests returns what was captured so far, oldest first.
func (s *Server) Requests(provider string) []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Request
	for _, r := range s.requests {
		if provider == "" || r.Provider == provider {
			out = append(out, r)
		}
	}
	return out
}

func newID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// quota answers LINE's quota and consumption, as LINE does.
func (s *Server) quota(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	limit, used := s.Quota, s.used
	s.mu.Unlock()
	switch {
	case r.URL.Path == "/v2/bot/message/quota/consumption":
		writeJSON(w, http.StatusOK, map[string]any{"totalUsage": used})
	case r.URL.Path == "/v2/bot/message/quota" && limit > 0:
		writeJSON(w, http.StatusOK, map[string]any{"type": "limited", "value": limit})
	case r.URL.Path == "/v2/bot/message/quota":
		writeJSON(w, http.StatusOK, map[string]any{"type": "none"})
	default:
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "Not found"})
	}
}
