package api

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"errors"
	"html"
	"io"
	"io/fs"
	"net"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/awslabs/aws-lambda-go-api-proxy/core"

	"github.com/daifuku/daifuku/shared/adapters/content"
	"github.com/daifuku/daifuku/shared/adapters/line"
	"github.com/daifuku/daifuku/shared/domain"
	"github.com/daifuku/daifuku/shared/domain/contentset"
	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/message"
	"github.com/daifuku/daifuku/shared/domain/rank"
	msgrender "github.com/daifuku/daifuku/shared/domain/render"
	"github.com/daifuku/daifuku/shared/flows/publishing"
)

//go:embed studio
var studioFiles embed.FS

// Studio serves /studio: the marketers' page and its JSON API.
type Studio struct {
	Desk *publishing.Desk
	// Edits says who saved each file's latest version, and when.
	Edits interface {
		LatestEdits(ctx context.Context) (map[string]contentset.Edit, error)
		Revisions(ctx context.Context) ([]*contentset.Revision, error)
	}
	Customers interface {
		Customer(ctx context.Context, id string) (*customer.Customer, error)
	}
	// Send delivers a rendered test message through the real clients,
	// marked as a test and recorded nowhere.
	Send       func(ctx context.Context, out *msgrender.Rendered, shop msgrender.Shop, to TestRecipient) error
	Recipients []TestRecipient
	// DevToken opens the studio locally (a bearer token, or the cookie the
	// page's URL sets). "" with Cognito false: the studio is not served.
	DevToken string
	// Cognito: API Gateway's JWT authorizer checked the bearer token; the
	// studio still requires the marketers group in its claims.
	Cognito bool
	// Login is where the page sends a marketer to sign in (Cognito's hosted UI).
	Login string
	// Report writes a month's report page ("" month: this month in Japan).
	Report func(ctx context.Context, w io.Writer, month string) error

	mu     sync.Mutex
	cached struct {
		rev int
		set contentset.Set
	}
}

// TestRecipient is an address or LINE user a test may go to: configured,
// never typed.
type TestRecipient struct {
	ID      string           `json:"id"`
	Label   string           `json:"label"`
	Channel customer.Channel `json:"channel"`
	Address string           `json:"-"`
}

// ParseRecipients reads "email:a@b.jp,line:U…": the configured test recipients.
func ParseRecipients(s string) []TestRecipient {
	var out []TestRecipient
	for _, item := range strings.Split(s, ",") {
		ch, addr, ok := strings.Cut(strings.TrimSpace(item), ":")
		if !ok || addr == "" || (ch != string(customer.Email) && ch != string(customer.LINE)) {
			continue
		}
		label := addr
		if ch == string(customer.LINE) && len(addr) > 8 {
			label = "LINE " + addr[:5] + "…" + addr[len(addr)-3:]
		}
		out = append(out, TestRecipient{ID: strconv.Itoa(len(out) + 1), Label: label, Channel: customer.Channel(ch), Address: addr})
	}
	return out
}

// MarketersGroup is the Cognito group whose members may use the studio.
const MarketersGroup = "marketers"

const (
	studioCookie = "daifuku_studio"
	csrfHeader   = "X-CSRF-Token"
)

// studioCSP keeps the page to its own scripts, and out of other sites'
// frames. Previews are srcdoc iframes sandboxed without scripts, which
// inherit it (an email's inline styles and remote images still show).
const studioCSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src * data:; " +
	"frame-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

func (s *Studio) routes(mux *http.ServeMux) {
	static, _ := fs.Sub(studioFiles, "studio")
	page := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", studioCSP)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "no-referrer")
		if !s.Cognito {
			if !loopback(r.Host) {
				http.Error(w, "the development studio answers on localhost only", http.StatusForbidden)
				return
			}
			if tok := r.URL.Query().Get("token"); tok != "" {
				if !s.devToken(tok) {
					http.Error(w, "wrong studio token", http.StatusUnauthorized)
					return
				}
				http.SetCookie(w, &http.Cookie{Name: studioCookie, Value: tok, Path: "/studio", HttpOnly: true,
					SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
				http.Redirect(w, r, "/studio", http.StatusSeeOther)
				return
			}
			if c, err := r.Cookie(studioCookie); err != nil || !s.devToken(c.Value) {
				w.Header().Set("Content-Type", "text/plain; charset=utf-8")
				w.WriteHeader(http.StatusUnauthorized)
				_, _ = w.Write([]byte("スタジオを開くには、make serve が表示した URL（トークン付き）を開いてください。\n" +
					"Open the studio with the URL `make serve` printed (it carries the token).\n"))
				return
			}
		}
		page, err := fs.ReadFile(static, "index.html")
		if err != nil {
			http.Error(w, "studio page missing", http.StatusInternalServerError)
			return
		}
		if s.Login != "" { // where the page sends a marketer without a token
			page = bytes.Replace(page, []byte("<body>"), []byte(`<body data-login="`+html.EscapeString(s.Login)+`">`), 1)
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(page)
	}
	mux.HandleFunc("GET /studio", page)
	files := http.StripPrefix("/studio/static/", http.FileServerFS(static))
	mux.HandleFunc("GET /studio/static/", func(w http.ResponseWriter, r *http.Request) {
		// Locally nothing of the studio answers without its session; in AWS
		// the page's code is public (it holds no content), the API is not.
		if c, err := r.Cookie(studioCookie); !s.Cognito && (err != nil || !s.devToken(c.Value)) {
			writeError(w, &httpError{http.StatusUnauthorized, "open the studio with the URL make serve printed"})
			return
		}
		w.Header().Set("X-Content-Type-Options", "nosniff")
		files.ServeHTTP(w, r)
	})
	api := func(pattern string, h func(w http.ResponseWriter, r *http.Request, who string)) {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "no-store")
			who, err := s.authorize(r)
			if err != nil {
				w.Header().Set("WWW-Authenticate", `Bearer realm="daifuku studio"`)
				writeError(w, err)
				return
			}
			h(w, r, who)
		})
	}
	api("GET /studio/api/session", func(w http.ResponseWriter, r *http.Request, who string) {
		writeJSON(w, http.StatusOK, map[string]any{"user": who, "csrf": s.csrf(), "recipients": s.Recipients})
	})
	api("GET /studio/api/content", s.list)
	api("GET /studio/api/content/{path...}", s.get)
	api("PUT /studio/api/content/{path...}", s.put)
	api("POST /studio/api/preview", s.preview)
	api("POST /studio/api/publish", s.publish)
	api("POST /studio/api/test-send", s.testSend)
	// The owner's report: a page of its own locally (the session's cookie
	// opens it), and through the API, where Cognito's token reaches it.
	api("GET /studio/report", s.report)
	api("GET /studio/api/report", s.report)
	api("GET /studio/api/revisions", func(w http.ResponseWriter, r *http.Request, _ string) {
		rs, err := s.Edits.Revisions(r.Context())
		if err != nil {
			s.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"revisions": rs})
	})
}

// reportCSP lets the report page do nothing but show itself: no script,
// nothing fetched, only its own inline styles and SVG.
const reportCSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

func (s *Studio) report(w http.ResponseWriter, r *http.Request, _ string) {
	if s.Report == nil {
		writeError(w, &httpError{http.StatusNotFound, "no report here"})
		return
	}
	month := r.URL.Query().Get("month")
	if _, err := time.Parse("2006-01", month); month != "" && err != nil {
		writeError(w, &httpError{http.StatusBadRequest, "month: want YYYY-MM"})
		return
	}
	var b bytes.Buffer
	if err := s.Report(r.Context(), &b, month); err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", reportCSP)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Referrer-Policy", "no-referrer")
	_, _ = b.WriteTo(w)
}

// loopback says a Host header names this machine.
func loopback(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (s *Studio) devToken(tok string) bool {
	return s.DevToken != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(s.DevToken)) == 1
}

// csrf is the token a cookie session's page sends back with each change: a
// page on another site can make the browser send the cookie, not read this.
func (s *Studio) csrf() string {
	if s.Cognito {
		return ""
	}
	m := hmac.New(sha256.New, []byte(s.DevToken))
	m.Write([]byte("studio csrf"))
	return hex.EncodeToString(m.Sum(nil))
}

// authorize names who asks, or refuses: a bearer token (the dev token
// locally; in AWS a Cognito token API Gateway verified, of the marketers
// group), or locally the page's cookie, with the CSRF token on changes.
func (s *Studio) authorize(r *http.Request) (string, error) {
	denied := &httpError{http.StatusUnauthorized, "sign in to the studio: a bearer token, or the studio page's session"}
	if s.Cognito {
		ctx, ok := core.GetAPIGatewayV2ContextFromContext(r.Context())
		if !ok || ctx.Authorizer == nil || ctx.Authorizer.JWT == nil {
			return "", denied
		}
		claims := ctx.Authorizer.JWT.Claims
		groups := strings.Fields(strings.Trim(claims["cognito:groups"], "[]"))
		if !slices.Contains(groups, MarketersGroup) {
			return "", &httpError{http.StatusForbidden, "the studio is for the " + MarketersGroup + " group"}
		}
		return strings.TrimSpace(claims["email"] + " " + claims["sub"]), nil
	}
	if s.DevToken == "" {
		return "", &httpError{http.StatusServiceUnavailable, "the studio is not served: set STUDIO_DEV_TOKEN"}
	}
	if !loopback(r.Host) {
		// The development token is public; a page elsewhere that rebinds its
		// name to 127.0.0.1 must not reach the studio with it.
		return "", &httpError{http.StatusForbidden, "the development studio answers on localhost only"}
	}
	if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		if !s.devToken(tok) {
			return "", denied
		}
		return "developer (token)", nil
	}
	c, err := r.Cookie(studioCookie)
	if err != nil || !s.devToken(c.Value) {
		return "", denied
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead &&
		subtle.ConstantTimeCompare([]byte(r.Header.Get(csrfHeader)), []byte(s.csrf())) != 1 {
		return "", &httpError{http.StatusForbidden, "missing or wrong " + csrfHeader}
	}
	return "developer (studio page)", nil
}

func (s *Studio) fail(w http.ResponseWriter, r *http.Request, err error) {
	var (
		invalid *contentset.Invalid
		stale   *contentset.StaleError
	)
	switch {
	case errors.As(err, &invalid):
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"error": "invalid content", "errors": invalid.Problems})
	case errors.As(err, &stale):
		writeJSON(w, http.StatusConflict, map[string]any{"error": stale.Error(), "base_version": stale.Base, "latest_version": stale.Latest})
	case errors.Is(err, contentset.ErrNoVersion), errors.Is(err, publishing.ErrUnknownFile), errors.Is(err, domain.ErrNotFound):
		writeError(w, &httpError{http.StatusNotFound, err.Error()})
	case errors.Is(err, contentset.ErrBusy):
		writeError(w, &httpError{http.StatusConflict, err.Error() + "; publish again"})
	default:
		var he *httpError
		if !errors.As(err, &he) {
			s.Desk.Logger().ErrorContext(r.Context(), "studio request failed", "path", r.URL.Path, "error", err)
		}
		writeError(w, err)
	}
}

// fileRow is one file of the set, as the studio lists it.
type fileRow struct {
	Path      string          `json:"path"`
	Published int             `json:"published"`
	Latest    contentset.Edit `json:"latest"`
}

// cell is one kind × rank × channel of the overview: the folder whose
// template it uses, its own or a fallback, or none.
type cell struct {
	Kind    message.Kind     `json:"kind"`
	Rank    string           `json:"rank"`
	Channel customer.Channel `json:"channel"`
	Folder  string           `json:"folder,omitempty"`
	Own     bool             `json:"own"`
}

func (s *Studio) list(w http.ResponseWriter, r *http.Request, _ string) {
	ctx := r.Context()
	rev, set, err := s.live(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	edits, err := s.Edits.LatestEdits(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var files []fileRow
	for p, e := range edits {
		files = append(files, fileRow{Path: p, Published: rev.Files[p], Latest: e})
	}
	for p, n := range rev.Files {
		if _, ok := edits[p]; !ok { // seeded before edits were kept
			files = append(files, fileRow{Path: p, Published: n, Latest: contentset.Edit{Version: n}})
		}
	}
	slices.SortFunc(files, func(a, b fileRow) int { return strings.Compare(a.Path, b.Path) })
	c, err := content.LoadContent(set.FS())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// Kinds whose words are chosen by rank make the matrix; the others (plan
	// steps, lapsed series, newsletters, feedback) are folders that plans and
	// campaigns name, listed as such.
	var ranks []map[string]string
	var cells []cell
	var kinds []message.Kind
	for _, kind := range message.Kinds {
		var row []cell
		resolved := false
		for _, rk := range c.Rules.Ranks {
			for _, lapsed := range []bool{false, true} {
				rr := rank.Rank{ID: rk.ID, Lapsed: lapsed}
				for _, ch := range []customer.Channel{customer.Email, customer.LINE} {
					dir, ok := c.Templates.Resolve(kind, rr, ch)
					resolved = resolved || ok
					row = append(row, cell{Kind: kind, Rank: rr.String(), Channel: ch, Folder: dir,
						Own: ok && (dir == string(kind)+"/"+rr.ID || (lapsed && dir == string(kind)+"/"+rr.ID+"-lapsed"))})
				}
			}
		}
		if resolved {
			kinds, cells = append(kinds, kind), append(cells, row...)
		}
	}
	for _, rk := range c.Rules.Ranks {
		for _, lapsed := range []bool{false, true} {
			rr := rank.Rank{ID: rk.ID, Lapsed: lapsed}
			ranks = append(ranks, map[string]string{"id": rr.String(), "label": c.Rules.Label(rr)})
		}
	}
	var named []string
	for _, ref := range c.Templates.Refs() {
		if !slices.Contains(kinds, ref.Kind) {
			named = append(named, string(ref.Kind)+"/"+ref.Rank)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"revision": rev.N, "published_at": rev.At, "published_by": rev.By,
		"files": files, "kinds": kinds, "ranks": ranks, "matrix": cells, "named": named})
}

func (s *Studio) get(w http.ResponseWriter, r *http.Request, _ string) {
	p := r.PathValue("path")
	if file, ok := strings.CutSuffix(p, "/versions"); ok {
		if err := contentset.CheckPath(file); err != nil {
			s.fail(w, r, &httpError{http.StatusBadRequest, err.Error()})
			return
		}
		vs, err := s.Desk.Ledger.Versions(r.Context(), file)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if len(vs) == 0 {
			s.fail(w, r, &httpError{http.StatusNotFound, file + ": no such file"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"path": file, "versions": vs})
		return
	}
	n := 0
	if v := r.URL.Query().Get("version"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			s.fail(w, r, &httpError{http.StatusBadRequest, "version: want a positive number"})
			return
		}
	}
	v, err := s.Desk.File(r.Context(), p, n)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *Studio) put(w http.ResponseWriter, r *http.Request, who string) {
	var req struct {
		Source      *string `json:"source"`
		BaseVersion int     `json:"base_version"`
		Comment     string  `json:"comment"`
	}
	if err := decode(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	if req.Source == nil {
		writeError(w, &httpError{http.StatusBadRequest, "source is required"})
		return
	}
	n, err := s.Desk.Save(r.Context(), r.PathValue("path"), *req.Source, req.BaseVersion, who, req.Comment)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]int{"version": n})
}

func (s *Studio) publish(w http.ResponseWriter, r *http.Request, who string) {
	var req struct {
		Path    string `json:"path"`
		Version int    `json:"version"`
		// Files publishes several at once; version 0 takes a file out.
		Files   map[string]int `json:"files"`
		Comment string         `json:"comment"`
	}
	if err := decode(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	var rev contentset.Revision
	var err error
	if req.Files != nil {
		rev, err = s.Desk.PublishFiles(r.Context(), req.Files, who, req.Comment)
	} else {
		rev, err = s.Desk.Publish(r.Context(), req.Path, req.Version, who, req.Comment)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"revision": rev.N, "files": rev.Files})
}

// live is the published set, read again only when a new revision was published.
func (s *Studio) live(ctx context.Context) (contentset.Revision, contentset.Set, error) {
	rev, err := s.Desk.Ledger.Published(ctx)
	if err != nil {
		return rev, nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cached.set == nil || s.cached.rev != rev.N {
		set, err := s.Desk.Ledger.Files(ctx, rev.Files)
		if err != nil {
			return rev, nil, err
		}
		s.cached.rev, s.cached.set = rev.N, set
	}
	out := make(contentset.Set, len(s.cached.set))
	for p, src := range s.cached.set {
		out[p] = src
	}
	return rev, out, nil
}

// previewRequest asks how path would read with source.
type previewRequest struct {
	Path       string           `json:"path"`
	Source     *string          `json:"source"`
	Version    int              `json:"version"` // instead of source: a saved version
	Rank       string           `json:"rank"`
	CustomerID string           `json:"customer_id"`
	Channel    customer.Channel `json:"channel"`
}

// Preview is what a message would look like.
type Preview struct {
	Template string               `json:"template,omitempty"`
	Subject  string               `json:"subject,omitempty"`
	HTML     string               `json:"html,omitempty"`
	Text     string               `json:"text,omitempty"`
	LINE     *LINEPreview         `json:"line,omitempty"`
	Errors   []contentset.Problem `json:"errors"`
}

// LINEPreview is a LINE message as the chat shows it, and its sizes
// against LINE's limits.
type LINEPreview struct {
	Text     string `json:"text,omitempty"`
	FlexHTML string `json:"flex_html,omitempty"`
	AltText  string `json:"alt_text,omitempty"`
	Chars    int    `json:"chars"`
	MaxChars int    `json:"max_chars"`
	Bytes    int    `json:"bytes,omitempty"`
	MaxBytes int    `json:"max_bytes,omitempty"`
}

func (s *Studio) render(ctx context.Context, req previewRequest) (*Preview, *msgrender.Rendered, msgrender.Shop, error) {
	var src []byte
	switch {
	case req.Source != nil:
		src = []byte(*req.Source)
	case req.Version > 0:
		v, err := s.Desk.File(ctx, req.Path, req.Version)
		if err != nil {
			return nil, nil, msgrender.Shop{}, err
		}
		src = []byte(v.Source)
	default:
		return nil, nil, msgrender.Shop{}, &httpError{http.StatusBadRequest, "source or version is required"}
	}
	if err := contentset.CheckPath(req.Path); err != nil {
		return nil, nil, msgrender.Shop{}, &httpError{http.StatusBadRequest, err.Error()}
	}
	if err := contentset.CheckSource(req.Path, src); err != nil {
		return &Preview{Errors: []contentset.Problem{{File: req.Path, Message: err.Error()}}}, nil, msgrender.Shop{}, nil
	}
	if ps := (content.Checks{}).File(req.Path, src); len(ps) > 0 {
		return &Preview{Errors: ps}, nil, msgrender.Shop{}, nil
	}
	_, set, err := s.live(ctx)
	if err != nil {
		return nil, nil, msgrender.Shop{}, err
	}
	set[req.Path] = src
	c, err := content.LoadContent(set.FS())
	if err != nil {
		return &Preview{Errors: content.Problems(err, set)}, nil, msgrender.Shop{}, nil
	}
	if !strings.HasSuffix(req.Path, ".liquid") {
		return &Preview{Errors: []contentset.Problem{}}, nil, c.Shop, nil
	}
	dir := path.Dir(req.Path)
	ch := req.Channel
	if ch == "" {
		ch = customer.LINE
		if strings.HasPrefix(path.Base(req.Path), "email.") {
			ch = customer.Email
		}
	}
	rk := rank.Parse(req.Rank)
	if req.Rank == "" {
		rk = rank.Rank{ID: c.Rules.Ranks[0].ID}
	}
	data := msgrender.Sample(c.Shop, rk.ID, c.Rules.Label(rk), false)
	data.Customer.Name = "見本 花子" // the checks' sample has markup in it; a marketer reads this one
	if req.CustomerID != "" {
		cust, err := s.Customers.Customer(ctx, req.CustomerID)
		if err != nil {
			return nil, nil, msgrender.Shop{}, err
		}
		rk = rank.Rank{ID: cust.Rank}
		data.Customer, data.RankID, data.RankLabel = cust, cust.Rank, c.Rules.Label(rk)
	}
	out, err := c.Templates.RenderIn(dir, ch, data)
	if err != nil {
		return &Preview{Errors: content.Problems(err, set)}, nil, c.Shop, nil
	}
	p := &Preview{Template: out.Template, Errors: []contentset.Problem{}}
	switch {
	case out.Email != nil:
		p.Subject, p.HTML, p.Text = out.Email.Subject, out.Email.HTML, out.Email.Text
	case out.LINE != nil && out.LINE.Flex != nil:
		html, alt, err := msgrender.FlexHTML(out.LINE.Flex)
		if err != nil {
			p.Errors = append(p.Errors, contentset.Problem{File: req.Path, Message: err.Error()})
		}
		max := line.MaxBubbleBytes
		if strings.Contains(string(out.LINE.Flex), `"carousel"`) {
			max = line.MaxCarouselBytes
		}
		p.LINE = &LINEPreview{FlexHTML: html, AltText: alt, Chars: utf8.RuneCountInString(alt), MaxChars: line.MaxAltText,
			Bytes: len(out.LINE.Flex), MaxBytes: max}
	case out.LINE != nil:
		p.LINE = &LINEPreview{Text: out.LINE.Text, Chars: utf8.RuneCountInString(out.LINE.Text), MaxChars: line.MaxText}
	}
	if out.LINE != nil {
		if _, err := line.Message(out.LINE); err != nil { // what LINE would refuse: its limits, the SDK's types
			p.Errors = append(p.Errors, contentset.Problem{File: req.Path, Message: err.Error()})
		}
	}
	return p, out, c.Shop, nil
}

func (s *Studio) preview(w http.ResponseWriter, r *http.Request, _ string) {
	var req previewRequest
	if err := decode(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	p, _, _, err := s.render(r.Context(), req)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

func (s *Studio) testSend(w http.ResponseWriter, r *http.Request, who string) {
	var req struct {
		Path      string           `json:"path"`
		Version   int              `json:"version"`
		Channel   customer.Channel `json:"channel"`
		Recipient string           `json:"recipient"`
		Rank      string           `json:"rank"`
	}
	if err := decode(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	i := slices.IndexFunc(s.Recipients, func(t TestRecipient) bool { return t.ID == req.Recipient })
	if i < 0 {
		writeError(w, &httpError{http.StatusUnprocessableEntity, "recipient: choose one of the configured test recipients (STUDIO_TEST_RECIPIENTS)"})
		return
	}
	to := s.Recipients[i]
	if req.Channel == "" {
		req.Channel = to.Channel
	}
	if req.Channel != to.Channel {
		writeError(w, &httpError{http.StatusUnprocessableEntity, "recipient " + to.Label + " is on " + string(to.Channel)})
		return
	}
	if req.Version < 1 {
		writeError(w, &httpError{http.StatusBadRequest, "version: want a saved version"})
		return
	}
	p, out, shop, err := s.render(r.Context(), previewRequest{Path: req.Path, Version: req.Version, Rank: req.Rank, Channel: req.Channel})
	switch {
	case err != nil:
		s.fail(w, r, err)
		return
	case len(p.Errors) > 0 || out == nil:
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"error": "invalid content", "errors": p.Errors})
		return
	}
	if err := s.Send(r.Context(), out, shop, to); err != nil {
		s.Desk.Logger().WarnContext(r.Context(), "studio test send failed", "path", req.Path, "channel", to.Channel, "error", err)
		writeError(w, &httpError{http.StatusBadGateway, "the test was not sent: " + err.Error()})
		return
	}
	s.Desk.Logger().InfoContext(r.Context(), "studio test sent", "path", req.Path, "version", req.Version, "channel", to.Channel)
	writeJSON(w, http.StatusAccepted, map[string]string{"sent_to": to.Label})
}
