package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/daifuku/daifuku/infra/testrig"
	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/edge/app"
)

const studioToken = "test-studio-token"

// studio serves the API with the studio on a seeded content table.
func studio(t *testing.T) (*testrig.Rig, http.Handler) {
	t.Helper()
	r := testrig.New(t)
	if _, err := app.Seed(context.Background(), r.Store, "seed", r.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"STUDIO_DEV_TOKEN": studioToken,
		"STUDIO_TEST_RECIPIENTS": "email:marketer@example.jp,line:U00000000000000000000000000000001"}
	h, err := r.APIHandler(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	return r, h
}

func studioCall(h http.Handler, method, path, body string, header ...string) (int, map[string]any) {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Host = "localhost:3000"
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	var out map[string]any
	_ = json.Unmarshal(w.Body.Bytes(), &out)
	return w.Code, out
}

var bearer = []string{"Authorization", "Bearer " + studioToken}

// No route of the studio answers without authority; a cookie session needs
// the CSRF token to change anything; the page carries a CSP.
func TestStudioIsClosedToEveryoneElse(t *testing.T) {
	t.Parallel()
	_, h := studio(t)
	for _, c := range []struct{ method, path, body string }{
		{"GET", "/studio/api/session", ""}, {"GET", "/studio/api/content", ""},
		{"GET", "/studio/api/content/ranks.yaml", ""}, {"GET", "/studio/api/content/ranks.yaml/versions", ""},
		{"PUT", "/studio/api/content/ranks.yaml", `{"source":"x","base_version":1}`},
		{"POST", "/studio/api/preview", `{"path":"ranks.yaml","source":"x"}`},
		{"POST", "/studio/api/publish", `{"path":"ranks.yaml","version":1}`},
		{"POST", "/studio/api/test-send", `{"path":"ranks.yaml","version":1,"recipient":"1"}`},
		{"GET", "/studio/api/revisions", ""}, {"GET", "/studio", ""}, {"GET", "/studio/static/studio.js", ""},
	} {
		for _, auth := range [][]string{nil, {"Authorization", "Bearer wrong"}, {"Cookie", "daifuku_studio=wrong"}} {
			if code, _ := studioCall(h, c.method, c.path, c.body, auth...); code != http.StatusUnauthorized {
				t.Errorf("%s %s with %v: %d, want 401", c.method, c.path, auth, code)
			}
		}
	}
	cookie := []string{"Cookie", "daifuku_studio=" + studioToken}
	if code, _ := studioCall(h, "GET", "/studio/api/content/ranks.yaml", "", cookie...); code != http.StatusOK {
		t.Errorf("a cookie session may read: %d", code)
	}
	for _, c := range []struct{ method, path, body string }{
		{"PUT", "/studio/api/content/ranks.yaml", `{"source":"x","base_version":1}`},
		{"POST", "/studio/api/publish", `{"path":"ranks.yaml","version":1}`},
		{"POST", "/studio/api/test-send", `{"path":"thank-you/royal/email.html.liquid","version":1,"recipient":"1"}`},
		{"POST", "/studio/api/preview", `{"path":"ranks.yaml","source":"x"}`},
	} {
		if code, _ := studioCall(h, c.method, c.path, c.body, append(cookie, "X-CSRF-Token", "forged")...); code != http.StatusForbidden {
			t.Errorf("%s %s from a cookie session without the CSRF token: %d", c.method, c.path, code)
		}
	}
	_, session := studioCall(h, "GET", "/studio/api/session", "", cookie...)
	csrf, _ := session["csrf"].(string)
	if code, _ := studioCall(h, "POST", "/studio/api/preview", `{"path":"ranks.yaml","source":"x"}`, append(cookie, "X-CSRF-Token", csrf)...); code != http.StatusOK {
		t.Errorf("a cookie session with its CSRF token: %d", code)
	}
	// The development token is public: only this machine's names reach it.
	rebound := httptest.NewRequest("GET", "/studio/api/session", nil)
	rebound.Host = "evil.example"
	rebound.Header.Set("Authorization", "Bearer "+studioToken)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, rebound)
	if w.Code != http.StatusForbidden {
		t.Errorf("the dev studio answered a request for another host: %d", w.Code)
	}
	req := httptest.NewRequest("GET", "/studio", nil)
	req.Host = "127.0.0.1:3000"
	req.Header.Set("Cookie", "daifuku_studio="+studioToken)
	w = httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusOK || !strings.Contains(w.Header().Get("Content-Security-Policy"), "script-src 'self'") ||
		!strings.Contains(w.Body.String(), `sandbox=""`) {
		t.Errorf("page: %d, CSP %q", w.Code, w.Header().Get("Content-Security-Policy"))
	}
}

// The API as a script uses it: save (201, 409 on a stale base, 422 at the
// line), preview, publish (404 for a version that does not exist), and
// path tricks refused.
func TestStudioAPI(t *testing.T) {
	t.Parallel()
	r, h := studio(t)
	// The overview: kinds chosen by rank make the matrix; plan steps are named folders.
	code, got := studioCall(h, "GET", "/studio/api/content", "", bearer...)
	kinds, _ := json.Marshal(got["kinds"])
	named, _ := json.Marshal(got["named"])
	if code != http.StatusOK || !strings.Contains(string(kinds), `"thank-you"`) || strings.Contains(string(kinds), `"step"`) ||
		!strings.Contains(string(named), `"step/royal-welcome"`) {
		t.Errorf("overview: %d kinds %s named %s", code, kinds, named)
	}
	const file = "/studio/api/content/thank-you/royal/email.subject.liquid"
	code, got = studioCall(h, "PUT", file, `{"source":"{{ customer.name }}様、ありがとうございます","base_version":1,"comment":"短く"}`, bearer...)
	if code != http.StatusCreated || got["version"] != 2.0 {
		t.Fatalf("save: %d %v", code, got)
	}
	if code, got = studioCall(h, "PUT", file, `{"source":"late","base_version":1}`, bearer...); code != http.StatusConflict || got["latest_version"] != 2.0 {
		t.Errorf("stale save: %d %v", code, got)
	}
	code, got = studioCall(h, "PUT", file, `{"source":"ok\n{% if %}","base_version":2}`, bearer...)
	if errs, _ := got["errors"].([]any); code != http.StatusUnprocessableEntity || len(errs) == 0 || errs[0].(map[string]any)["line"] != 2.0 {
		t.Errorf("bad Liquid: %d %v", code, got)
	}
	code, got = studioCall(h, "POST", "/studio/api/preview", `{"path":"thank-you/royal/email.subject.liquid","source":"{{ customer.name }}様","rank":"royal"}`, bearer...)
	if code != http.StatusOK || got["subject"] != "見本 花子様" {
		t.Errorf("preview: %d %v", code, got)
	}
	// A real customer, picked by id: their name and rank.
	if err := r.Store.PutCustomers(context.Background(), []*customer.Customer{{ID: "C9", Name: "実在 太郎", Rank: "royal"}}); err != nil {
		t.Fatal(err)
	}
	code, got = studioCall(h, "POST", "/studio/api/preview", `{"path":"thank-you/royal/email.subject.liquid","source":"{{ customer.name }}様（{{ rank.label }}）","customer_id":"C9"}`, bearer...)
	if code != http.StatusOK || got["subject"] != "実在 太郎様（ロイヤル顧客）" {
		t.Errorf("preview for a real customer: %d %v", code, got)
	}
	if code, _ = studioCall(h, "POST", "/studio/api/preview", `{"path":"thank-you/royal/email.subject.liquid","source":"x","customer_id":"nobody"}`, bearer...); code != http.StatusNotFound {
		t.Errorf("preview for an unknown customer: %d", code)
	}
	code, got = studioCall(h, "POST", "/studio/api/preview", `{"path":"birthday/royal/line.flex.json.liquid","version":1,"rank":"royal"}`, bearer...)
	line, _ := got["line"].(map[string]any)
	if code != http.StatusOK || !strings.Contains(line["flex_html"].(string), "flex-bubble") || line["alt_text"] == "" {
		t.Errorf("Flex preview: %d %v", code, got)
	}
	if code, _ = studioCall(h, "POST", "/studio/api/publish", `{"path":"thank-you/royal/email.subject.liquid","version":7}`, bearer...); code != http.StatusNotFound {
		t.Errorf("publish of a missing version: %d", code)
	}
	code, got = studioCall(h, "POST", "/studio/api/publish", `{"path":"thank-you/royal/email.subject.liquid","version":2}`, bearer...)
	if code != http.StatusOK || got["revision"] != 2.0 {
		t.Errorf("publish: %d %v", code, got)
	}
	for _, p := range []string{"/studio/api/content/../ranks.yaml", "/studio/api/content/%2e%2e/ranks.yaml",
		"/studio/api/content/thank-you/royal/..%2f..%2franks.yaml", "/studio/api/content/nokind/x/email.html.liquid"} {
		if code, _ := studioCall(h, "PUT", p, `{"source":"x","base_version":1}`, bearer...); code == http.StatusCreated {
			t.Errorf("PUT %s: %d", p, code)
		}
	}
	if latest, err := r.Store.LatestVersions(context.Background()); err != nil || latest["ranks.yaml"] != 1 || len(latest) != 147 {
		t.Errorf("after path tricks: ranks.yaml v%d, %d files (%v)", latest["ranks.yaml"], len(latest), err)
	}
	if rev, _ := r.Store.Published(context.Background()); rev.N != 2 {
		t.Errorf("revision %d, want 2", rev.N)
	}
}

// A test send goes through the real client to a configured recipient only,
// marked as a test, and is recorded nowhere.
func TestStudioTestSend(t *testing.T) {
	t.Parallel()
	r, h := studio(t)
	body := `{"path":"thank-you/royal/email.html.liquid","version":1,"channel":"email","recipient":"%s","rank":"royal"}`
	if code, _ := studioCall(h, "POST", "/studio/api/test-send", strings.Replace(body, "%s", "someone@else.jp", 1), bearer...); code != http.StatusUnprocessableEntity {
		t.Errorf("a typed recipient: %d, want 422", code)
	}
	if code, got := studioCall(h, "POST", "/studio/api/test-send", strings.Replace(body, "%s", "1", 1), bearer...); code != http.StatusAccepted {
		t.Fatalf("test send: %d %v", code, got)
	}
	mails := r.Capture.Requests("email")
	if len(mails) != 1 || !strings.Contains(string(mails[0].Body), "marketer@example.jp") || !strings.Contains(string(mails[0].Body), `"test"`) {
		t.Fatalf("%d emails: %s", len(mails), mails)
	}
	if recs, err := r.Store.MessagesSince(context.Background(), "C0", r.Clock.Now().AddDate(-1, 0, 0)); err != nil || len(recs) != 0 {
		t.Errorf("a test send was recorded: %v %v", recs, err)
	}
	lineBody := `{"path":"thank-you/royal/line.flex.json.liquid","version":1,"channel":"line","recipient":"2","rank":"royal"}`
	if code, got := studioCall(h, "POST", "/studio/api/test-send", lineBody, bearer...); code != http.StatusAccepted || len(r.Capture.Requests("line")) != 1 {
		t.Errorf("LINE test send: %d %v", code, got)
	}
}

// In AWS, API Gateway's JWT authorizer has checked Cognito's token before
// the function runs; through the Lambda adapter, as the function runs, the
// studio still requires the marketers group, and records who saved.
func TestStudioBehindCognitoRequiresTheMarketersGroup(t *testing.T) {
	t.Parallel()
	r := testrig.New(t)
	if _, err := app.Seed(context.Background(), r.Store, "seed", r.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	h, err := r.APIHandler(func(k string) string {
		return map[string]string{"STUDIO_AUTH": "cognito", "STUDIO_DEV_TOKEN": "ignored"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	lambda := httpadapter.NewV2(h)
	call := func(claims map[string]string, method, path, body string) int {
		t.Helper()
		ev := events.APIGatewayV2HTTPRequest{RawPath: path, Body: body, Headers: map[string]string{"content-type": "application/json"},
			RequestContext: events.APIGatewayV2HTTPRequestContext{HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: path}}}
		if claims != nil {
			ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
				JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: claims}}
		}
		res, err := lambda.ProxyWithContext(context.Background(), ev)
		if err != nil {
			t.Fatal(err)
		}
		return res.StatusCode
	}
	const file = "/studio/api/content/thank-you/royal/email.subject.liquid"
	marketer := map[string]string{"email": "hanako@shop.jp", "sub": "u-1", "cognito:groups": "[marketers]"}
	if code := call(nil, "GET", file, ""); code != http.StatusUnauthorized {
		t.Errorf("no authorizer claims: %d", code)
	}
	if code := call(map[string]string{"email": "x@shop.jp", "cognito:groups": "[staff]"}, "GET", file, ""); code != http.StatusForbidden {
		t.Errorf("not a marketer: %d", code)
	}
	if code := call(map[string]string{"email": "x@shop.jp"}, "GET", file, ""); code != http.StatusForbidden {
		t.Errorf("no groups: %d", code)
	}
	if code := call(marketer, "PUT", file, `{"source":"{{ customer.name }}様","base_version":1}`); code != http.StatusCreated {
		t.Fatalf("a marketer's save: %d", code)
	}
	vs, err := r.Store.Versions(context.Background(), "thank-you/royal/email.subject.liquid")
	if err != nil || vs[0].Author != "hanako@shop.jp u-1" {
		t.Errorf("author of the save: %+v %v", vs, err)
	}
}
