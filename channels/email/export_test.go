package email

// ClassifyCode is exported for the table test.
var ClassifyCode = classifyCode
