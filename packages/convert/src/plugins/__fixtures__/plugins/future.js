export default { specVersion: 99, name: 'future', encode: () => ({ ok: true, value: null }) };
