export default {
  specVersion: 1,
  name: 'good-lines',
  description: 'One conversation per line of text',
  encode: (record) => ({ ok: true, value: record.conversations.map((turn) => turn.value).join(' | ') }),
};
