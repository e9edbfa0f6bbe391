/// The OpenAPI 3.1 description of the server's routes, served at `GET /openapi.json`.
enum OpenAPI {
    static let document = #"""
{
  "openapi": "3.1.0",
  "info": {
    "title": "Triage",
    "version": "1",
    "description": "Routes customer-service messages to queues. Errors are {\"error\": {\"status\", \"message\", \"field\"?}}."
  },
  "paths": {
    "/messages": {
      "post": {
        "summary": "Classify a batch of messages",
        "requestBody": {
          "required": true,
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/MessagesRequest"}}}
        },
        "responses": {
          "200": {"description": "One prediction per message, in order", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/MessagesResponse"}}}},
          "400": {"$ref": "#/components/responses/Error"},
          "401": {"$ref": "#/components/responses/Error"},
          "405": {"$ref": "#/components/responses/Error"},
          "408": {"$ref": "#/components/responses/Error"},
          "413": {"$ref": "#/components/responses/Error"},
          "415": {"$ref": "#/components/responses/Error"},
          "422": {"$ref": "#/components/responses/Error"},
          "503": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/messages/{id}/label": {
      "post": {
        "summary": "Record a human re-classification of the latest prediction of a message",
        "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
        "requestBody": {
          "required": true,
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/LabelRequest"}}}
        },
        "responses": {
          "200": {"description": "Recorded", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/LabelResponse"}}}},
          "400": {"$ref": "#/components/responses/Error"},
          "401": {"$ref": "#/components/responses/Error"},
          "404": {"$ref": "#/components/responses/Error"},
          "415": {"$ref": "#/components/responses/Error"},
          "422": {"$ref": "#/components/responses/Error"},
          "503": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/health": {"get": {"summary": "The process is alive", "responses": {"200": {"description": "Alive", "content": {"application/json": {"schema": {"type": "object"}}}}}}},
    "/ready": {"get": {"summary": "The model is loaded, its self-test passed, and the log is writable", "responses": {
      "200": {"description": "Ready", "content": {"application/json": {"schema": {"type": "object"}}}},
      "503": {"description": "Not ready", "content": {"application/json": {"schema": {"type": "object"}}}}}}},
    "/model": {"get": {"summary": "Labels, parameters, metrics, provenance and key id of the model being served", "responses": {"200": {"description": "The model", "content": {"application/json": {"schema": {"type": "object"}}}}}}},
    "/metrics": {"get": {"summary": "Prometheus metrics", "responses": {"200": {"description": "Text exposition format 0.0.4", "content": {"text/plain": {"schema": {"type": "string"}}}}}}},
    "/openapi.json": {"get": {"summary": "This document", "responses": {"200": {"description": "OpenAPI 3.1", "content": {"application/json": {"schema": {"type": "object"}}}}}}},
    "/review": {"get": {"summary": "The review queue (a write token, or a loopback client on a server without tokens; a server with --db): each message's latest prediction, unsure ones first, then the smallest top-1 - top-2 margin, then the lowest probability, newest first on ties", "parameters": [
      {"name": "since", "in": "query", "schema": {"type": "string"}, "description": "ISO 8601 date or time: received at or after"},
      {"name": "until", "in": "query", "schema": {"type": "string"}, "description": "ISO 8601 date or time: received before"},
      {"name": "category", "in": "query", "schema": {"type": "string"}, "description": "Only this predicted category"},
      {"name": "unlabelled", "in": "query", "schema": {"type": "boolean"}, "description": "Only messages no agent has relabelled"},
      {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 10000, "default": 50}},
      {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0, "default": 0}}], "responses": {
      "200": {"description": "{total, offset, limit, items: [{seq, id, received_at, model_id, subject, body, category, probability, margin, unsure_reason, label, agent}]}", "content": {"application/json": {"schema": {"type": "object"}}}},
      "400": {"$ref": "#/components/responses/Error"},
      "401": {"$ref": "#/components/responses/Error"},
      "403": {"$ref": "#/components/responses/Error"},
      "404": {"$ref": "#/components/responses/Error"}}}},
    "/admin/reload": {"post": {"summary": "Reload the model from its file (a write token, or a loopback client on a server without tokens); a model that fails verification is refused and the old one keeps serving", "responses": {
      "200": {"description": "Reloaded", "content": {"application/json": {"schema": {"type": "object"}}}},
      "401": {"$ref": "#/components/responses/Error"},
      "403": {"$ref": "#/components/responses/Error"},
      "422": {"$ref": "#/components/responses/Error"}}}}
  },
  "components": {
    "schemas": {
      "Message": {
        "type": "object",
        "description": "Either id, subject and body, or raw: a whole RFC 5322 e-mail whose subject and body are read from it (MIME, transfer encodings, charsets; the text/plain part, else the HTML one); with raw, id defaults to its Message-ID.",
        "anyOf": [{"required": ["id", "body"]}, {"required": ["raw"]}],
        "properties": {
          "id": {"type": "string", "minLength": 1, "maxLength": 256, "description": "Echoed in the answer and used by /messages/{id}/label; a number is refused (400)."},
          "subject": {"type": ["string", "null"]},
          "body": {"type": "string"},
          "raw": {"type": ["string", "null"], "description": "A whole e-mail (headers, blank line, body); not with subject or body. Unencoded 8-bit text is read as the JSON string's Unicode whatever charset it declares; base64 and quoted-printable parts use their charset. At most --max-raw-bytes (422 above)."}
        }
      },
      "MessagesRequest": {
        "type": "object",
        "required": ["messages"],
        "properties": {"messages": {"type": "array", "minItems": 1, "maxItems": 256, "items": {"$ref": "#/components/schemas/Message"}}}
      },
      "Scored": {
        "type": "object",
        "required": ["category", "probability"],
        "properties": {"category": {"type": "string"}, "probability": {"type": "number"}}
      },
      "Prediction": {
        "type": "object",
        "required": ["id", "category", "probability", "reason", "top", "unsure", "by"],
        "properties": {
          "by": {"type": "string", "pattern": "^(model|rule:[a-z0-9._-]{1,64})$", "description": "Who decided the category: the model, or an override rule of the model (rule:NAME; the probabilities stay the classifier's)."},
          "heads": {"type": "object", "description": "A model of several label heads only: every head's answer by head name (the first head's is also the top level), each with by, category, probability, reason, top and unsure.", "additionalProperties": {"type": "object"}},
          "id": {"type": "string"},
          "category": {"type": "string"},
          "probability": {"type": "number"},
          "reason": {"type": ["string", "null"], "enum": ["low_confidence", "ambiguous", "out_of_scope", "no_rule", null], "description": "Why the message is unsure (null when routed); no_rule: a rules-only model, no override rule matched."},
          "top": {"type": "array", "items": {"$ref": "#/components/schemas/Scored"}},
          "unsure": {"type": "boolean"}
        }
      },
      "MessagesResponse": {
        "type": "object",
        "required": ["model", "predictions"],
        "properties": {
          "model": {"type": "object", "required": ["id", "version"], "properties": {"id": {"type": "string"}, "version": {"type": "string"}}},
          "predictions": {"type": "array", "items": {"$ref": "#/components/schemas/Prediction"}}
        }
      },
      "LabelRequest": {
        "type": "object",
        "required": ["label"],
        "properties": {"label": {"type": "string", "minLength": 1}, "agent": {"type": ["string", "null"]}, "head": {"type": ["string", "null"], "description": "A model of several heads: the head the label is for (default: the first)."}}
      },
      "LabelResponse": {
        "type": "object",
        "required": ["id", "label", "head", "prediction"],
        "properties": {"id": {"type": "string"}, "label": {"type": "string"}, "head": {"type": "string"}, "prediction": {"type": "integer"}}
      },
      "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {"error": {"type": "object", "required": ["status", "message"], "properties": {
          "status": {"type": "integer"}, "message": {"type": "string"}, "field": {"type": "string"}}}}
      }
    },
    "responses": {
      "Error": {"description": "An error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    }
  }
}
"""#
}
