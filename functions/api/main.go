// Command api is the HTTP API function (API Gateway HTTP API, payload v2).
package main

import (
	"context"
	"log"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/daifuku/daifuku/shared/api"
	"github.com/daifuku/daifuku/shared/app"
)

func main() {
	a, err := app.FromEnv(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	lambda.Start(httpadapter.NewV2(api.New(a.Intake, nil)).ProxyWithContext)
}
