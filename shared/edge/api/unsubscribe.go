package api

import (
	"context"
	"errors"
	"html/template"
	"net/http"

	"github.com/daifuku/daifuku/shared/domain"
	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/unsubscribe"
)

// OptOuts records unsubscribes.
type OptOuts interface {
	OptOut(ctx context.Context, customerID string, ch customer.Channel) error
}

// The pages a customer sees; no name or address on them, only the shop's words.
var pages = template.Must(template.New("").Parse(`
{{define "page"}}<!DOCTYPE html>
<html lang="ja"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{{.Title}}</title></head>
<body style="font-family:sans-serif;max-width:32em;margin:3em auto;padding:0 1em;line-height:1.8;color:#333">
<h1 style="font-size:1.3em">{{.Title}}</h1><p>{{.Text}}</p>
{{if .Form}}<form method="post"><button type="submit" style="font-size:1em;padding:.6em 1.4em">配信を停止する</button></form>{{end}}
</body></html>{{end}}`))

type page struct {
	Title, Text string
	Form        bool
}

func render(w http.ResponseWriter, status int, p page) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = pages.ExecuteTemplate(w, "page", p)
}

// unsubscribeRoutes serve the unsubscribe link. GET (and so HEAD) only asks:
// link scanners and mail gateways fetch every link in a mail, so GET and HEAD
// must change nothing. POST, the mail client's one-click request (RFC 8058)
// or the page's button, records the opt-out with no login: the signed token
// is the proof.
func unsubscribeRoutes(mux *http.ServeMux, signer unsubscribe.Signer, optOuts OptOuts, o Options) {
	mux.HandleFunc("GET /unsubscribe", func(w http.ResponseWriter, r *http.Request) {
		l, err := signer.Open(r.URL.Query().Get("t"))
		if err != nil {
			render(w, http.StatusBadRequest, badUnsubscribeLink)
			return
		}
		text := "メールでのお知らせの配信をすべて停止します。よろしければ下のボタンを押してください。"
		if l.Topic != "" {
			text = "このお知らせと同じ種類のお知らせの配信を停止します。よろしければ下のボタンを押してください。"
		}
		render(w, http.StatusOK, page{Title: "配信停止のご確認", Form: true, Text: text})
	})
	mux.HandleFunc("POST /unsubscribe", func(w http.ResponseWriter, r *http.Request) {
		l, err := signer.Open(r.URL.Query().Get("t"))
		if err != nil {
			render(w, http.StatusBadRequest, badUnsubscribeLink)
			return
		}
		id, ch := l.CustomerID, l.Channel
		if l.Topic != "" && o.Preferences != nil {
			// The List-Unsubscribe of one topic's email: that topic stops, on
			// every channel. A topic since removed stops all email instead.
			_, err := o.Preferences.SetTopics(r.Context(), id, map[string]bool{l.Topic: false}, customer.ByUnsubscribeLink,
				"one-click unsubscribe")
			var invalid *domain.InvalidError
			switch {
			case err == nil || errors.Is(err, domain.ErrNotFound):
				render(w, http.StatusOK, page{Title: "配信を停止しました",
					Text: "この種類のお知らせはお送りしません。ほかのお知らせは、メールの「配信設定」から選べます。"})
				return
			case !errors.As(err, &invalid):
				o.Logger().ErrorContext(r.Context(), "topic opt out failed", "customer_id", id, "topic", l.Topic, "error", err)
				render(w, http.StatusInternalServerError, tryAgain)
				return
			}
		}
		if err := optOuts.OptOut(r.Context(), id, ch); err != nil {
			o.Logger().ErrorContext(r.Context(), "opt out failed", "customer_id", id, "channel", ch, "error", err)
			render(w, http.StatusInternalServerError, page{Title: "ただいま処理できませんでした",
				Text: "恐れ入りますが、少し時間をおいてもう一度お試しください。"})
			return
		}
		render(w, http.StatusOK, page{Title: "配信を停止しました",
			Text: "これまでお読みいただき、ありがとうございました。ご注文に関するご連絡は引き続きお送りします。"})
	})
}

var badUnsubscribeLink = page{Title: "リンクが正しくありません",
	Text: "お手数ですが、届いたメールのリンクをもう一度お試しいただくか、お問い合わせください。"}
