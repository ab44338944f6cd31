package reason

// CodesWithSentences lets reason_test compare the sentences with Codes.
var CodesWithSentences = codesWithSentences
