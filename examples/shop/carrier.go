package main

import (
	"net/http"

	"go.opentelemetry.io/otel/propagation"
)

func propagationCarrier(h http.Header) propagation.HeaderCarrier { return propagation.HeaderCarrier(h) }
